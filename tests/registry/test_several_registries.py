"""
Several registries sharing one store (a memory store shared in this
process; tests/integration and tests/e2e do it on Redis): each serves the
whole cluster, and nodes move between them without losing anything.
"""

from __future__ import annotations

from typing import Any

from micro._kernel.config import Settings
from micro._registry.stack import RegistryStack
from micro._registry.store.memory import MemoryStore
from micro.testing import MemoryCluster
from tests._helpers import fired
from tests._memory import recorder

TTL = 4.0
HOLD = TTL / 2
A, B = "http://registry-a.test:9999", "http://registry-b.test:9999"


def _two() -> tuple[MemoryCluster, RegistryStack, RegistryStack]:
    cluster = MemoryCluster(settings=Settings(registry_url=f"{A},{B}"))
    store = MemoryStore(cluster.clock, TTL)
    a = cluster.registry(ttl=TTL, url=A, store=store)
    b = cluster.registry(ttl=TTL, url=B, store=store)
    return cluster, a.stack, b.stack


def _command(cluster: MemoryCluster, url: str, document: Any) -> Any:
    from micro._node.registry_client import RegistryClient

    return cluster.result(RegistryClient(cluster._http(), url).command(*next(iter(document.items()))))


def test_what_is_registered_at_one_registry_is_served_by_the_other() -> None:
    """
    A service registered through A is in B's lookup, in the table of a node watching B, and routable through B.
    """
    cluster, a, b = _two()
    host = cluster.node(home="http://host.test", registry_url=A)
    instance = cluster.result(host.create_service(lambda payload, ctx: {"path": ctx.request.path}, "users"))
    _command(cluster, A, {"register": {"type": "route", "path": "/api/*", "service": "users"}})
    assert _command(cluster, B, {"lookup": "users"}) == instance.location
    caller = cluster.node(home="http://caller.test", registry_url=B)
    assert cluster.result(caller.call("users", {})) == {"path": "/"}
    assert caller.table.snapshot() == {"users": [instance.location]}
    reply = cluster.result(cluster._http().request(b"GET", f"{B}/api/x".encode()))
    assert (reply.code, reply.body) == (200, b'{"path":"/api/x"}')
    assert a.state.version == b.state.version


def test_a_publish_at_one_registry_reaches_subscribers_of_the_other_in_order() -> None:
    """
    Subscribed through A, a handler receives what a node watching B publishes there, in the order published.
    """
    cluster, _, _ = _two()
    subscriber = cluster.node(home="http://sub.test", registry_url=A)
    seen: list[Any] = []
    pubsub = cluster.result(subscriber.create_pubsub_service())
    cluster.result(pubsub.subscribe("orders", recorder(seen, "ok")))
    publisher = cluster.node(home="http://pub.test", registry_url=B)
    for n in range(5):
        publisher.publish("orders", {"n": n})
    cluster.settle()
    assert seen == [{"n": n} for n in range(5)]


def test_settle_at_one_registry_waits_for_the_watchers_of_the_other() -> None:
    """
    An unregistration settled at A is settled only once the node watching B holds the new table.
    """
    cluster, a, b = _two()
    host = cluster.node(home="http://host.test", registry_url=A)
    instance = cluster.result(host.create_service(lambda p: p, "svc"))
    watcher = cluster.node(home="http://watcher.test", registry_url=B)
    cluster.result(watcher.ready())
    cluster.freeze("http://watcher.test")
    reply = _command(cluster, A, {"unregister": {"service": "svc", "location": instance.location}})
    settled = a.hub.settle(reply["version"], 1.0)
    cluster.advance(1.5)
    assert fired(settled) == {"settled": False, "lagging": 1}
    cluster.thaw("http://watcher.test")
    cluster.advance(HOLD)
    settled = a.hub.settle(reply["version"], 1.0)
    cluster.advance(0.1)
    assert fired(settled) == {"settled": True, "lagging": 0}


def test_a_node_moves_to_the_next_registry_when_its_registry_dies() -> None:
    """
    Registry A killed: its nodes watch B at once, without registering again, and nothing is evicted.
    """
    cluster, a, b = _two()
    host = cluster.node(home="http://host.test")
    cluster.result(host.create_service(lambda p: "ok", "svc"))
    caller = cluster.node(home="http://caller.test")
    cluster.result(caller.ready())
    assert host.registry_client.current == A
    version = b.state.version
    cluster.stop_registry(a)
    cluster.settle()
    assert host.registry_client.current == B and caller.registry_client.current == B
    assert {n.id for n in b.state.nodes() if n.watching} >= {host.id, caller.id}
    for _ in range(int(3 * TTL)):
        cluster.advance(1.0)
        assert cluster.result(caller.call("svc")) == "ok"
    assert b.state.version == version  # no eviction, no new registration


def test_a_node_leaves_a_hung_registry_within_hold_and_a_second() -> None:
    """
    Registry A hangs: its nodes watch B within hold + 1 s, keep their leases, and A does not evict them when it wakes.
    """
    cluster, a, b = _two()
    host = cluster.node(home="http://host.test")
    cluster.result(host.create_service(lambda p: "ok", "svc"))
    cluster.advance(HOLD)  # the first reply told the node the hold
    version = b.state.version
    cluster.freeze(A)
    frozen = cluster.clock.seconds()
    while host.registry_client.current != B:
        cluster.advance(0.1)
        assert cluster.clock.seconds() - frozen <= HOLD + 1.0 + 0.1
    cluster.advance(2 * TTL)
    cluster.thaw(A)
    cluster.advance(2 * TTL)
    assert b.state.table() == a.state.table() == {"svc": [host.instances()[0].location]}
    assert b.state.version == version


def test_commands_go_to_the_next_registry_when_one_is_down() -> None:
    """
    With A gone, a new service registers through B (setup, register, settle): commands fail over.
    """
    cluster, a, b = _two()
    node = cluster.node(home="http://host.test")
    cluster.stop_registry(a)
    instance = cluster.result(node.create_service(lambda p: "ok", "late"))
    assert b.state.table() == {"late": [instance.location]}
    cluster.result(instance.terminate())
    assert b.state.table() == {}
