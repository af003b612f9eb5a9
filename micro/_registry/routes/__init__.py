"""
HTTP routes at the registry: the route table, the route commands, and
the proxy that streams each request to an instance of the route's service.

May import: the kernel, the HTTP plumbing, calls, the registry core.
"""
