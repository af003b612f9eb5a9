# -*- test-case-name: tests.integration.test_live_cluster -*-
"""
A registry and nodes on real sockets on 127.0.0.1, on the running reactor,
for a user's integration tests, and a teardown that leaves nothing behind.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from attrs import define, field
from treq.client import HTTPClient
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.web.client import Agent, HTTPConnectionPool

from micro._app.default import current_node, shutdown, use_node
from micro._app.hosting import App, start_app, stop_app
from micro._app.loader import load_app_module
from micro._app.node import Node
from micro._kernel.config import Settings
from micro._registry.server import RegistryServer, start_registry
from micro._registry.state import DEFAULT_TTL
from micro._testing.replies import HttpReply, fetching, treq_client

# Reactor turns to wait, at most, for closed connections to be gone.
QUIET_TURNS = 200


@define(eq=False)
class LiveCluster:
    """
    A registry listening on 127.0.0.1 (a free port) and nodes that talk to
    it over TCP, on the running reactor.

    Start one with C{await LiveCluster.start()} and end it with C{await
    cluster.stop()}: every node leaves, the registry stops, and every
    connection is closed before C{stop} returns, so the next test starts
    afresh and trial finds its reactor clean.  While it runs, the
    module-level functions (C{micro.call_service}, C{micro.create_service},
    ...) use a node of this cluster.
    """

    reactor: Any
    registry: RegistryServer
    token: str | None = None
    nodes: list[Node] = field(factory=list)
    _apps: dict[int, App] = field(factory=dict, init=False)
    _pools: list[HTTPConnectionPool] = field(factory=list, init=False)

    def __repr__(self) -> str:
        return f"<LiveCluster at {self.url}: {len(self.nodes)} nodes>"

    @classmethod
    def start(cls, *, ttl: float = DEFAULT_TTL, token: str | None = None, reactor: Any = None) -> Deferred[LiveCluster]:
        """
        Start a registry on 127.0.0.1 and make the module-level functions
        use this cluster.  The environment's C{MICRO_*} settings play no part.
        """
        if reactor is None:
            from twisted.internet import reactor
        return Deferred.fromCoroutine(cls._start(reactor, ttl, token))

    @classmethod
    async def _start(cls, reactor: Any, ttl: float, token: str | None) -> LiveCluster:
        await shutdown()  # whatever an earlier test left as the default
        registry = start_registry(reactor, "http://127.0.0.1:0", ttl=ttl, token=token, settings=Settings())
        cluster = cls(reactor, registry, token)
        use_node(cluster.node())
        return cluster

    @property
    def url(self) -> str:
        """
        Where the registry answers: its commands and the cluster's routes.
        """
        return self.registry.url

    def node(self, **settings: Any) -> Node:
        """
        A new node (as another process would be) whose services listen on 127.0.0.1.
        """
        node = Node.create(self.reactor, Settings(registry_url=self.url, service_url="http://127.0.0.1",
                                                  token=self.token, **settings))
        self.nodes.append(node)
        return node

    def load(self, app: ModuleType | str, *, node: Node | None = None) -> Deferred[Node]:
        """
        Host an app module as C{twistd micro-service --module} does (its
        C{@micro.on_start} hooks, then its marks), in C{node} (default: a
        new node).
        """
        module = load_app_module(app) if isinstance(app, str) else app
        node = node or self.node()
        loaded = App.of(module)
        self._apps[id(node)] = loaded
        return Deferred.fromCoroutine(start_app(node, loaded)).addCallback(lambda _: node)

    def client(self) -> HTTPClient:
        """
        A treq client of its own (closed by L{stop}).
        """
        pool = HTTPConnectionPool(self.reactor, persistent=True)
        self._pools.append(pool)
        return treq_client(Agent(self.reactor, pool=pool))

    def request(self, method: str, path: str, **options: Any) -> Deferred[HttpReply]:
        """
        Send one request to the registry (C{path} like C{"/api/users"}) and
        read the whole reply; options as L{micro.testing.MemoryCluster.request}.
        """
        return fetching(self.client(), method, self.url + path, **options)

    def get(self, path: str, **options: Any) -> Deferred[HttpReply]:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> Deferred[HttpReply]:
        return self.request("POST", path, **options)

    def stop(self) -> Deferred[None]:
        """
        Stop every node (then the C{@micro.on_stop} hooks of the apps they
        host), the registry, and the clients; fires once every connection
        is closed.  Give it to trial's C{addCleanup} as it is.
        """
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if current_node() in self.nodes:
            use_node(None)
        for node in self.nodes:
            await node.terminate()
            app = self._apps.pop(id(node), None)
            if app is not None:
                await stop_app(node, app)
        await self.registry.terminate()
        for pool in self._pools:
            await pool.closeCachedConnections()
        await shutdown()
        await self._quiet()

    async def _quiet(self) -> None:
        """
        Let closing connections finish closing: an aborted connection is
        only gone a reactor turn or two later.
        """
        for _ in range(QUIET_TURNS):
            if not _closing(self.reactor):
                return
            await deferLater(self.reactor, 0)


def _closing(reactor: Any) -> bool:
    """
    Whether a connection is still on its way out: a pending zero-delay call
    (an aborted connection's connectionLost) or a disconnecting transport.
    """
    now = reactor.seconds()
    if any(call.getTime() <= now for call in reactor.getDelayedCalls()):
        return True
    readers = list(reactor.getReaders()) + list(reactor.getWriters())
    return any(getattr(r, "disconnecting", False) for r in readers)
