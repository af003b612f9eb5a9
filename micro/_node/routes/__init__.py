"""
Routes on the node side: the routes a node declares, and how an instance
answers the route traffic the registry sends it.

May import: the kernel, the HTTP plumbing, calls, the node core.
"""
