"""
Pub/sub at the registry: who subscribes to what, the commands, and the
parallel fan-out of each message through one ordered outbox per
subscriber process.

May import: the kernel, the HTTP plumbing, calls, the registry core.
"""
