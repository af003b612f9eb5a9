"""
Test helpers for micro users: whole clusters in memory on a fake clock,
or on real sockets, under pytest (with pytest-twisted) or trial alike.

    cluster = MemoryCluster()
    cluster.registry()
    node = cluster.load(my_app)                  # its @micro marks and hooks
    assert cluster.result(node.call("stock", {"item": "apple"})) == {...}
    reply = cluster.get("/api/stock/apple")      # through the front door
    assert (reply.status, reply.json()) == (200, {...})

Every request goes through real HTTP parsing on both sides; in memory
only the bytes travel without sockets, and time moves only when the test
says so (L{MemoryCluster.advance}; services wait on C{ctx.clock}).
L{LiveCluster} runs the same on 127.0.0.1.  See README, "Testing your
services".
"""

from micro._testing.live import LiveCluster
from micro._testing.memory import REGISTRY_URL, MemoryCluster, MemoryRegistry
from micro._testing.replies import HttpReply

__all__ = ["HttpReply", "LiveCluster", "MemoryCluster", "MemoryRegistry", "REGISTRY_URL"]
