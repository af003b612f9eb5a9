"""
Machinery behind the public C{micro.testing}: an in-memory network where
servers and clients talk through real HTTP parsing, with no sockets.

May import: the HTTP plumbing and the kernel.
"""
