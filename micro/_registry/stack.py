# -*- test-case-name: tests.registry.test_endpoint -*-
"""
A registry assembled: its state, watches and commands, with its features
(routes, pub/sub) built around them; the one module that composes the
registry side.
"""

from __future__ import annotations

from typing import Any

from attrs import define
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import IResource

from micro._calls.balancer import RoundRobin
from micro._http.client import HttpClient
from micro._http.limits import BodyLimits
from micro._http.site import MicroSite
from micro._kernel.observer import Observability
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._registry.commands import RegistryCommands, Sender
from micro._registry.dashboard import Dashboard
from micro._registry.endpoint import CommandEndpoint, CommandResource, RegistryResource
from micro._registry.framework import RegistryEndpoints
from micro._registry.metrics import ServiceMetrics
from micro._registry.operations import RegistryOperations
from micro._registry.pubsub.commands import PubSubCommands
from micro._registry.pubsub.hub import PubSubHub
from micro._registry.read_commands import RegistryReads
from micro._registry.routes.commands import RegistryRoutes
from micro._registry.routes.exchange import Upstream
from micro._registry.routes.proxy import RouteProxy
from micro._registry.state import DEFAULT_TTL, RegistryState
from micro._registry.store.interface import AttachableStore, ClusterStore
from micro._registry.store.memory import MemoryStore
from micro._registry.store.replica import Replica
from micro._registry.watch_hub import PER_WATCHER_SPACING, WatchHub


@define
class RegistryStack:
    """
    Everything a registry is made of, wired together, not yet listening.
    """

    state: RegistryState
    store: ClusterStore
    replica: Replica
    hub: WatchHub
    commands: RegistryCommands
    http: HttpClient
    resource: IResource
    pubsub: PubSubHub
    routes: RegistryRoutes
    proxy: RouteProxy
    reads: RegistryReads
    operations: RegistryOperations
    dashboard: Dashboard

    @property
    def metrics(self) -> ServiceMetrics:
        """
        The per-service call counts nodes report (what C{stats} answers).
        """
        return self.commands.metrics

    @classmethod
    def build(cls, reactor: Any, *, ttl: float = DEFAULT_TTL, token: str | None = None,
              http: HttpClient | None = None, spacing_per_watcher: float = PER_WATCHER_SPACING,
              verify_locations: bool = True, development: bool = False,
              limits: BodyLimits = BodyLimits(), store: AttachableStore | None = None,
              observability: Observability | None = None, production: bool = False,
              tracer_provider: Any = None) -> RegistryStack:
        """
        A registry over C{store} (default: a L{MemoryStore} of its own),
        which must have the same C{ttl}.

        @param observability: Metrics, access log, tracing (L{Observability});
            C{tracer_provider} replaces the global one.
        @param production: Whether the operators' pages need the token.
        """
        operations = RegistryOperations.build(reactor, observability, token, production, tracer_provider)
        state = RegistryState(reactor, ttl=ttl)
        replica = Replica(state)
        store = store or MemoryStore(reactor, ttl)
        hub = WatchHub(state, reactor, spacing_per_watcher=spacing_per_watcher, store=store)
        http = http or HttpClient.create(reactor)
        commands = RegistryCommands(state, hub, http, store, token=token, verify_locations=verify_locations)
        reads = RegistryReads.install(commands, reactor)
        pubsub = PubSubHub(state, http, reactor, token=token)
        pubsub.install(replica)
        PubSubCommands(pubsub, store).install(commands)
        routes = RegistryRoutes.install(commands, replica)
        upstream = Upstream(http, RoundRobin(reactor), state.locations, reactor, DEFAULT_TIMEOUT)
        proxy = RouteProxy(routes.table, upstream, development=development)
        proxy.observer = pubsub.observer = operations.observer
        operations.store = store
        operations.follow(state, hub, commands.metrics, reactor)
        dashboard = Dashboard(state, commands.metrics, http, reactor, {
            "health": lambda: commands.run({"health": True}, Sender()), "nodes": reads.nodes,
            "routes": lambda: [{**entry.describe(), "instances": len(state.locations(entry.service))}
                               for entry in routes.table.entries()],
            "channels": lambda: [{"channel": channel, "subscribers": locations}
                                 for channel, locations in sorted(pubsub.channels().items())]})
        endpoints = RegistryEndpoints(lambda: commands.run({"health": True}, Sender()), operations, dashboard)
        resource = RegistryResource(CommandResource(CommandEndpoint(commands, limits)), proxy, limits,
                                    endpoints.router.resource())
        store.attach(replica)
        return cls(state, store, replica, hub, commands, http, resource, pubsub, routes, proxy, reads, operations,
                   dashboard)

    def start(self) -> Deferred[None]:
        """
        Load the view from the store and follow it (at once for the memory
        store; once Redis answers for a shared one).
        """
        return self.store.start()

    def listening_on(self, port: int) -> None:
        """
        Tell the port allocator which port is the registry's own.
        """
        self.state.ports.base_port = port

    async def stop(self) -> None:
        """
        Answer pending watches and deliveries, cancel every timer, close
        idle outbound connections.
        """
        self.operations.stopping = True
        self.hub.stop()
        self.reads.stop()
        self.pubsub.stop()
        await self.store.stop()
        self.state.stop()
        await self.http.close()

    async def shut_down(self, port: IListeningPort | None, site: MicroSite | None) -> None:
        """
        Stop a registry that listens on C{port}: answer pending watches,
        stop listening, close its connections, then L{stop}.
        """
        self.operations.stopping = True
        self.hub.stop()
        if port is not None:
            await maybeDeferred(port.stopListening)
        if site is not None:
            site.close_connections()
        await self.stop()
