"""
The built-in C{cache} service: a TTL store served as a service.

May import: the kernel, the node core.
"""
