"""
The clusters behind the public C{micro.testing}: a whole cluster in
memory on a fake clock, one on real sockets, and what a test sends them.

May import: everything below it, the app layer and the in-memory network
included (like the twistd commands, it composes whole programs).
"""
