"""
Two registries on one Redis, nodes on real sockets: each registry serves
what was registered through the other (lookups, tables, routes, publishes)
and settle at one waits for the watchers of the other.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest
import pytest_twisted
from attrs import define, field
from twisted.internet.task import deferLater

from micro._app.node import Node
from micro._http.client import HttpClient
from micro._kernel.config import Settings
from micro._node.registry_client import RegistryClient
from micro._registry.server import RegistryServer, start_registry
from tests._memory import recorder
from tests._redis import RedisServer

pytestmark = pytest.mark.integration


@define(eq=False)
class Pair:
    reactor: Any
    a: RegistryServer
    b: RegistryServer
    nodes: list[Node] = field(factory=list)

    def node(self, registry: RegistryServer) -> Node:
        node = Node.create(self.reactor, Settings(registry_url=registry.url, service_url="http://127.0.0.1"))
        self.nodes.append(node)
        return node


@pytest_twisted.async_yield_fixture()
async def pair(redis_server: RedisServer) -> AsyncIterator[Pair]:
    from twisted.internet import reactor

    a = start_registry(reactor, "http://127.0.0.1:0", store=redis_server.url)
    b = start_registry(reactor, "http://127.0.0.1:0", store=redis_server.url)
    await a.loaded
    await b.loaded
    cluster = Pair(reactor, a, b)
    yield cluster
    for node in cluster.nodes:
        await node.terminate()
    await a.terminate()
    await b.terminate()
    await deferLater(reactor, 0.05)


@pytest_twisted.ensureDeferred
async def test_each_registry_serves_what_was_registered_through_the_other(pair: Pair) -> None:
    """
    A service and route registered through A: in B's lookup, in the table of a node watching B, routable
    through B; a publish at B reaches, in order, a handler subscribed through A.
    """
    host = pair.node(pair.a)
    instance = await host.create_service(lambda payload, ctx: {"path": ctx.request.path}, "users")
    await host.create_route("/api/*", "users")
    caller = pair.node(pair.b)
    assert await caller.call("users", {}) == {"path": "/"}
    assert caller.table.snapshot() == {"users": [instance.location]}
    client = RegistryClient(caller.http, pair.b.url)
    assert await client.lookup("users") == instance.location
    reply = await HttpClient(pair.reactor, caller.http.agent).request(b"GET", f"{pair.b.url}/api/x".encode())
    assert (reply.code, reply.body) == (200, b'{"path":"/api/x"}')

    seen: list[Any] = []
    pubsub = await host.create_pubsub_service()
    await pubsub.subscribe("orders", recorder(seen, "ok"))
    for n in range(5):
        outcome = await caller.publish("orders", {"n": n})
        assert outcome["errors"] == []
    assert seen == [{"n": n} for n in range(5)]


@pytest_twisted.ensureDeferred
async def test_settle_at_one_registry_waits_for_the_watchers_of_the_other(pair: Pair) -> None:
    """
    A change settled at A is not settled while a node watching B holds an older version, and is once it catches up.
    """
    host = pair.node(pair.a)
    instance = await host.create_service(lambda payload: "ok", "svc")
    slow = RegistryClient(host.http, pair.b.url)
    first = await slow.watch("slow-node", "", -1)
    await slow.watch("slow-node", first["epoch"], first["version"], timeout=10)  # answered after the hold
    reply = await RegistryClient(host.http, pair.a.url).unregister("svc", instance.location)
    await deferLater(pair.reactor, 0.7)  # B has published how far its watchers are
    assert await pair.a.stack.hub.settle(reply["version"], 1.0) == {"settled": False, "lagging": 1}
    catching_up = slow.watch("slow-node", first["epoch"], reply["version"], timeout=10)
    await deferLater(pair.reactor, 0.7)
    assert await pair.a.stack.hub.settle(reply["version"], 1.0) == {"settled": True, "lagging": 0}
    await catching_up
