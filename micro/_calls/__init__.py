"""
Sending one call to some instance of a service, with failover and a
deadline, and decoding what comes back.  Nodes use it for
C{call_service}; the registry for its C{call} command.

May import: the kernel, the HTTP plumbing.
"""
