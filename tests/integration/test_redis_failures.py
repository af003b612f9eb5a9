"""
Registries on a Redis store when Redis fails, on real sockets: one
registry cut off from Redis while the other is not, and a Redis that
hangs.  (tests/e2e/test_registries_chaos.py plays the rest with twistd
processes.)
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any, AsyncIterator

import pytest
import pytest_twisted
from attrs import define, field
from twisted.internet.task import deferLater
from twisted.protocols import portforward

from micro._app.node import Node
from micro._http.client import HttpClient
from micro._kernel.config import Settings
from micro._kernel.errors import HttpError
from micro._kernel.protocol import NOT_READY
from micro._node.registry_client import RegistryClient
from micro._registry.server import RegistryServer, start_registry
from micro._registry.store.redis_link import CALL_TIMEOUT
from tests._redis import RedisServer

pytestmark = pytest.mark.integration

TTL = 4.0


@define(eq=False)
class FreezableProxy:
    """
    A TCP proxy to Redis that can stop passing bytes, as a network
    partition would: connections stay open, nothing goes through, new
    ones are accepted and hang too.
    """

    reactor: Any
    target: int
    frozen: bool = False
    connections: list[Any] = field(factory=list)
    port: Any = None

    def start(self) -> FreezableProxy:
        proxy = self

        class Server(portforward.ProxyServer):
            def connectionMade(self) -> None:
                proxy.connections.append(self)
                super().connectionMade()
                if proxy.frozen:
                    self.transport.pauseProducing()

        factory = portforward.ProxyFactory("127.0.0.1", self.target)
        factory.protocol = Server
        self.port = self.reactor.listenTCP(0, factory, interface="127.0.0.1")
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port.getHost().port}/0"

    def freeze(self) -> None:
        self.frozen = True
        for server in self.connections:
            for side in (server, server.peer):
                if side is not None and side.transport is not None:
                    side.transport.pauseProducing()

    def thaw(self) -> None:
        self.frozen = False
        for server in self.connections:
            for side in (server, server.peer):
                if side is not None and side.transport is not None:
                    side.transport.resumeProducing()

    async def stop(self) -> None:
        for server in self.connections:
            if server.transport is not None:
                server.transport.loseConnection()
        await self.port.stopListening()


@define(eq=False)
class TwoRegistries:
    reactor: Any
    a: RegistryServer
    b: RegistryServer
    proxy: FreezableProxy
    nodes: list[Node] = field(factory=list)

    def node(self) -> Node:
        node = Node.create(self.reactor, Settings(registry_url=f"{self.a.url},{self.b.url}",
                                                  service_url="http://127.0.0.1"))
        self.nodes.append(node)
        return node


@pytest_twisted.async_yield_fixture()
async def two(redis_server: RedisServer) -> AsyncIterator[TwoRegistries]:
    from twisted.internet import reactor

    proxy = FreezableProxy(reactor, redis_server.port).start()
    a = start_registry(reactor, "http://127.0.0.1:0", ttl=TTL, store=proxy.url)
    b = start_registry(reactor, "http://127.0.0.1:0", ttl=TTL, store=redis_server.url)
    await a.loaded
    await b.loaded
    cluster = TwoRegistries(reactor, a, b, proxy)
    yield cluster
    proxy.thaw()
    for node in cluster.nodes:
        await node.terminate()
    await a.terminate()
    await b.terminate()
    await proxy.stop()
    await deferLater(reactor, 0.05)


async def _until(reactor: Any, check: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"no {what} after {timeout}s")
        await deferLater(reactor, 0.02)
    return time.monotonic() - started


@pytest_twisted.ensureDeferred
async def test_a_registry_cut_off_from_redis_sends_its_nodes_to_another(two: TwoRegistries) -> None:
    """
    Registry A loses Redis, B does not: A stops being ready (its readiness
    probe answers 503, B's 200), its node moves to B before its lease
    lapses, nothing is evicted, and lookups at A still answer from its view.
    """
    reactor = two.reactor
    node = two.node()
    instance = await node.create_service(lambda payload: "ok", "svc")
    assert node.registry_client.current == two.a.url
    version = two.b.state.version
    two.proxy.freeze()
    moved = await _until(reactor, lambda: node.registry_client.current == two.b.url, TTL, "move to B")
    assert moved < TTL
    health = node.registry_client.send(two.a.url, "health", b'{"health": true}', 5)
    with pytest.raises(HttpError) as refused:
        await health
    assert refused.value.status == 503 and NOT_READY in refused.value.message
    probe_a = await node.http.request(b"GET", (two.a.url + "/_micro/ready").encode(), None, None, 5)
    probe_b = await node.http.request(b"GET", (two.b.url + "/_micro/ready").encode(), None, None, 5)
    assert (probe_a.code, probe_b.code) == (503, 200) and b"cannot reach its store" in probe_a.body
    assert await node.registry_client.send(two.a.url, "lookup", b'{"lookup": "svc"}', 5) == instance.location
    await deferLater(reactor, 2 * TTL)
    assert two.b.state.table() == {"svc": [instance.location]} and two.b.state.version == version
    assert await node.call("svc") == "ok"
    two.proxy.thaw()
    await _until(reactor, lambda: two.a.stack.store.ready, 5, "A ready again")


@pytest_twisted.ensureDeferred
async def test_a_hung_redis_turns_a_change_into_a_503_in_bounded_time(two: TwoRegistries,
                                                                     redis_server: RedisServer) -> None:
    """
    With Redis hung, a registration at B answers 503 naming the store within the call timeout; reads answer at once.
    """
    node = two.node()
    instance = await node.create_service(lambda payload: "ok", "svc")
    assert redis_server.process is not None
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(HttpError) as refused:
            await node.registry_client.send(two.b.url, "register", b'{"register": {"type": "route", '
                                                                   b'"path": "/x", "service": "svc"}}', 10)
        took = time.monotonic() - started
        assert refused.value.status == 503 and "store" in refused.value.message
        assert took < CALL_TIMEOUT + 1.0
        assert await node.registry_client.send(two.b.url, "lookup", b'{"lookup": "svc"}', 1) == instance.location
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)


@pytest_twisted.ensureDeferred
async def test_a_registry_that_missed_trimmed_changes_reloads_a_snapshot(two: TwoRegistries,
                                                                         redis_server: RedisServer) -> None:
    """
    Changes made while A was cut off, then trimmed from the feed: A finds the gap when Redis is back and
    loads a snapshot, ending with B's view.
    """
    client = RegistryClient(HttpClient.create(two.reactor), two.b.url)
    two.proxy.freeze()
    for n in range(3):
        await client.command("register", {"type": "route", "path": f"/r{n}", "service": "svc"})
    redis_server.call("XTRIM", "micro:{micro}:changes", "MAXLEN", "0")
    assert two.a.stack.routes.describe_all() == []
    two.proxy.thaw()
    await _until(two.reactor, lambda: two.a.stack.replica.snapshot() == two.b.stack.replica.snapshot(), 10,
                 "A's view reloaded")
    assert [r["path"] for r in two.a.stack.routes.describe_all()] == ["/r0", "/r1", "/r2"]
    await client._http.close()
