"""
Where the cluster's state is kept and how every registry's view follows it.

A store takes every change (instances, routes, subscriptions, port
allocations, leases), applies it atomically, and hands it to every
registry's view in one order.  Two stores keep the same contract:

  - L{memory.MemoryStore}: in this process, the default; one registry, or
    several in one process (tests);
  - L{redis.RedisStore}: in Redis, shared by registries on any machines.

May import: the kernel, the HTTP plumbing, and the registry's core.
"""
