"""
Liveness across a cluster in memory: dead, hung and busy nodes, and how
fast other nodes' tables learn of them (fake clock, no sockets).
"""

from __future__ import annotations

from typing import Callable

from twisted.internet.defer import Deferred

from micro._kernel.protocol import IDLE_TIMEOUT
from micro._registry.stack import RegistryStack
from micro.testing import MemoryCluster

TTL = 4.0
HOST = "http://host.test"
CALLER = "http://caller.test"


def _cluster() -> tuple[MemoryCluster, RegistryStack]:
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL).stack
    return cluster, stack


def _time_until(cluster: MemoryCluster, condition: Callable[[], bool], limit: float, step: float = 0.05) -> float:
    start = cluster.clock.seconds()
    while not condition():
        assert cluster.clock.seconds() - start < limit, f"not within {limit}s"
        cluster.advance(step)
    return float(cluster.clock.seconds() - start)


def test_killed_node_leaves_every_table_at_once() -> None:
    """
    When a process dies (its watch connection drops), its instances leave
    the registry and every other node's table without waiting for its lease.
    """
    cluster, stack = _cluster()
    host, caller = cluster.node(home=HOST), cluster.node(home=CALLER)
    cluster.result(host.create_service(lambda p: "x", "svc"))
    cluster.result(caller.ready())
    assert caller.table.locations("svc") == ["http://host.test:10000"]
    cluster.kill(HOST)
    cluster.settle()
    assert stack.state.table() == {}
    assert caller.table.locations("svc") == []


def test_hung_node_is_evicted_within_the_lease_and_others_learn_it() -> None:
    """
    A node that hangs (connections open, nothing moves) is evicted within
    one lease, and the other nodes' tables drop it in the same moment.
    """
    cluster, stack = _cluster()
    host, caller = cluster.node(home=HOST), cluster.node(home=CALLER)
    cluster.result(host.create_service(lambda p: "x", "svc"))
    cluster.result(caller.ready())
    cluster.freeze(HOST)
    elapsed = _time_until(cluster, lambda: caller.table.locations("svc") == [], limit=TTL + 0.5)
    assert TTL - 2.1 < elapsed <= TTL + 0.05
    assert stack.state.table() == {}


def test_hung_node_registers_again_when_it_recovers() -> None:
    """
    A node evicted while hung learns it is unknown as soon as it runs again,
    registers its instances again, and callers reach them again.
    """
    cluster, stack = _cluster()
    host, caller = cluster.node(home=HOST), cluster.node(home=CALLER)
    cluster.result(host.create_service(lambda p: "back", "svc"))
    cluster.result(caller.ready())
    cluster.freeze(HOST)
    cluster.advance(TTL + 1)
    assert caller.table.locations("svc") == []
    cluster.thaw(HOST)
    cluster.advance(0.1)
    assert stack.state.table() == {"svc": ["http://host.test:10000"]}
    assert caller.table.locations("svc") == ["http://host.test:10000"]
    assert cluster.result(caller.call("svc")) == "back"


def test_busy_node_keeps_its_lease() -> None:
    """
    A node whose handlers hold fifty slow calls open for ten leases is never
    evicted: its watch is a connection of its own that no call delays.
    """
    cluster, stack = _cluster()
    host, caller = cluster.node(home=HOST), cluster.node(home=CALLER)
    slow: list[Deferred[str]] = []

    def busy(payload: object) -> Deferred[str]:
        d: Deferred[str] = Deferred()
        slow.append(d)
        return d

    cluster.result(host.create_service(busy, "svc"))
    calls = [caller.call("svc", i, timeout=100) for i in range(50)]
    cluster.settle()
    assert len(slow) == 50
    for _ in range(int(10 * TTL / 0.5)):
        cluster.advance(0.5)
        assert stack.state.table() == {"svc": ["http://host.test:10000"]}
    for d in slow:
        d.callback("done")
    cluster.settle()
    assert [cluster.result(d) for d in calls] == ["done"] * 50


def test_registry_evicting_a_live_node_makes_it_register_again() -> None:
    """
    A node the registry wrongly forgot is told "unknown" on its next watch
    and registers its instances again within one hold.
    """
    cluster, stack = _cluster()
    host = cluster.node(home=HOST)
    cluster.result(host.create_service(lambda p: "x", "svc"))
    stack.state.evict(host.id, "test")
    assert stack.state.table() == {}
    cluster.settle()
    assert stack.state.table() == {"svc": ["http://host.test:10000"]}


def test_registry_drops_the_connections_of_a_vanished_node() -> None:
    """
    Answers to a node that vanished are not kept forever: once its
    connections have been silent for the idle timeout, the registry closes
    them (and aborts them if they do not close).
    """
    cluster, stack = _cluster()
    host = cluster.node(home=HOST)
    cluster.result(host.create_service(lambda p: "x", "svc"))
    cluster.freeze(HOST)
    connections = cluster.network.connections("host.test", "registry.test")
    assert connections
    cluster.advance(IDLE_TIMEOUT - 1)
    assert not any(transport.disconnecting for transport in connections)
    cluster.advance(2 * TTL)
    assert all(transport.disconnecting for transport in connections)
    assert stack.state.table() == {}
