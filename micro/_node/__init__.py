"""
A member process of a cluster ("node"): it follows the registry's table,
hosts service instances, and calls services directly.  Its features live
in subpackages: L{routes} (routes it declares and the route traffic its
instances answer), L{pubsub} (its subscriptions and deliveries) and
L{cache} (the built-in cache service).

May import: the kernel, the HTTP plumbing, calls.  Never the registry side.
"""
