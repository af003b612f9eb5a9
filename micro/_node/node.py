# -*- test-case-name: tests.node.test_node -*-
"""
A process's membership in a micro cluster, without its features: it
follows the registry's table, hosts service instances, calls services,
and leaves cleanly.

Features (routes, pub/sub, the cache) are built around a node, not inside
it: each is an object made once per node by L{NodeCore.feature}, which
takes part in the node's life through L{NodeCore.on_rejoin} and
L{NodeCore.on_terminate}.  L{micro.Node} is this core with its features.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from attrs import define, field
from twisted.internet.defer import Deferred, fail, gatherResults, maybeDeferred
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from micro._calls.balancer import RoundRobin
from micro._calls.caller import Caller
from micro._http.client import HttpClient
from micro._http.limits import CALL_LIMIT
from micro._http.site import make_site
from micro._kernel.config import Settings, check_service_url
from micro._kernel.deferreds import Once, wait_at_most, with_deadline
from micro._kernel.errors import HttpError
from micro._kernel.observer import Observability
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._node.call_stats import CallStats
from micro._node.calls import READY_TIMEOUT, CallRouter
from micro._node.handler import ServiceHandler
from micro._node.host import DRAIN_TIMEOUT, SETTLE_TIMEOUT, Endpoint, Hosted
from micro._node.instance import ServiceInstance
from micro._node.instance_resource import InstanceResource
from micro._node.leaving import unregister_and_settle
from micro._node.listening import Listen, new_node_id, tcp_listener
from micro._node.operations import NodeOperations
from micro._node.registry_client import RegistryClient
from micro._node.rejoining import register_again
from micro._node.table import ServiceTable
from micro._node.table_watcher import TableWatcher

F = TypeVar("F")
N = TypeVar("N", bound="NodeCore")

BIND_ATTEMPTS = 20
LISTED_TIMEOUT = 5.0


@define(eq=False)
class NodeCore:
    """
    What one process needs to take part in a cluster.

    It follows the registry's table (L{TableWatcher}), hosts service
    instances, and calls services directly (L{CallRouter}): round-robin
    over the table, in-process when the chosen instance lives here.

    @ivar endpoints: Framework endpoints (C{POST} paths under C{/_micro/})
        that every instance of this node answers, added by its features.
    @ivar call_stats: The counts of the calls its instances served, which
        its watches report to the registry.
    """

    reactor: Any
    settings: Settings
    http: HttpClient
    registry_client: RegistryClient
    id: str
    _listen: Listen
    max_payload_bytes: int | None = CALL_LIMIT
    operations: NodeOperations = field(default=None)
    table: ServiceTable = field(factory=ServiceTable)
    _balancer: RoundRobin = field(init=False)
    _calls: CallRouter = field(init=False)
    _watcher: TableWatcher = field(init=False)
    _instances: dict[str, ServiceInstance] = field(factory=dict)
    endpoints: dict[bytes, Endpoint] = field(factory=dict, init=False)
    call_stats: CallStats = field(init=False)
    _features: dict[Any, Any] = field(factory=dict, init=False)
    _rejoin_hooks: list[Callable[[], Deferred[Any]]] = field(factory=list, init=False)
    _terminate_hooks: list[Callable[[], Any]] = field(factory=list, init=False)
    _terminating: Once = field(factory=Once, init=False)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.id} of {self.registry_client.url}, "
                f"{len(self._instances)} instances>")

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self.operations = self.operations or NodeOperations.build(self.reactor, self.settings, None,
                                                                  self._instances.values)
        self.operations.has_table = lambda: self.table.loaded
        self._balancer = RoundRobin(self.reactor)
        caller = Caller(self.http, self._balancer, self.table.locations, self.observer)
        self._calls = CallRouter(self.reactor, self.table, caller, self.registry_client, self._instances.get,
                                 self.ready, self.observer)
        self.call_stats = CallStats(self._instances.values)
        self._watcher = TableWatcher(self.registry_client, self.id, self.table, self._balancer, self.reactor,
                                     self.rejoin, stats=self.call_stats)

    @classmethod
    def create(cls: type[N], reactor: Any, settings: Settings | None = None, *, http: HttpClient | None = None,
               listen: Listen | None = None, node_id: str | None = None,
               max_payload_bytes: int | None = CALL_LIMIT, observability: Observability | None = None,
               tracer_provider: Any = None) -> N:
        """
        A node for C{reactor}, configured from C{settings} (default: the
        environment).  Tests inject C{http} and C{listen}.

        @raise InvalidArgument: The settings' registry or service URL is
            not usable.

        @param max_payload_bytes: The largest call payload (and pub/sub
            delivery) its instances accept; larger ones get a 413.
        @param observability: Metrics, access log, tracing (L{Observability}).
        """
        settings = (settings or Settings.from_environ()).check()
        registry = RegistryClient.create(http or HttpClient.create(reactor), settings, reactor, resolve=http is None)
        instances: dict[str, ServiceInstance] = {}
        operations = NodeOperations.build(reactor, settings, observability, instances.values, tracer_provider)
        return cls(reactor, settings, registry.http, registry, node_id or new_node_id(),
                   listen or tcp_listener(reactor), max_payload_bytes, operations, instances=instances)

    @property
    def observer(self) -> Any:
        return self.operations.observer  # what observes this node's calls, or None

    # -- following the table ---------------------------------------------------

    def start(self) -> None:
        """Start following the registry's table (done by the first use)."""
        if not self._terminating.started:
            self._watcher.start()

    @property
    def joined(self) -> bool:
        """Whether this node follows its registry (or has a feature bound to it)."""
        return self._watcher.running or bool(self._features) or self._terminating.started

    def feature(self, kind: Callable[[NodeCore], F]) -> F:
        """
        This node's one instance of a feature, made by C{kind(node)} on
        first use.
        """
        found = self._features.get(kind)
        if found is None:
            found = self._features[kind] = kind(self)
        return found

    def ready(self, timeout: float = READY_TIMEOUT) -> Deferred[None]:
        """
        Fires once the table has been loaded from the registry; fails with a
        503 if that takes longer than C{timeout} seconds.
        """
        self.start()
        d = self._watcher.loaded()
        if d.called:
            return d
        return with_deadline(self.reactor, d, timeout, lambda: HttpError(
            503, f"no service table from the registry at {self.registry_client.url} after {timeout:g}s; is it running?"))

    def on_rejoin(self, hook: Callable[[], Deferred[Any]]) -> None:
        """
        Run C{hook} whenever the node registers again with a registry that
        lost it (routes and subscriptions use this).
        """
        self._rejoin_hooks.append(hook)

    def rejoin(self) -> Deferred[None]:
        """
        Register every live instance again (after a registry restart); see
        L{register_again}.
        """
        instances = [i for i in self._instances.values() if not i.draining]
        return register_again(self.registry_client, self.id, instances, self._rejoin_hooks)

    # -- calls ----------------------------------------------------------------

    def call(self, service: str, payload: Any = None, *, timeout: float = DEFAULT_TIMEOUT,
             retries: int = 0, propagation: Propagation | None = None) -> Deferred[Any]:
        """
        Call an instance of C{service} and return its decoded result;
        failures are L{HttpError}s.

        @param propagation: The context of the request the call is part of
            (C{ctx.call} passes its own); by default, a new request's.
        """
        return self._calls.call(service, payload, timeout, retries, propagation)

    def publish(self, channel: str, message: Any, *, timeout: float | None = None,
                propagation: Propagation | None = None) -> Deferred[dict[str, Any]]:
        """
        Publish to a pub/sub channel, as C{ctx.publish} does.  The core has
        no pub/sub; L{micro.Node} has.
        """
        return fail(HttpError(501, "this node has no pub/sub; use micro.Node"))

    # -- hosting ----------------------------------------------------------------

    async def create_service(self, fn: Callable[..., Any], name: str | None = None, *,
                             home: str | None = None) -> ServiceInstance:
        """
        Host C{fn} as an instance of service C{name} (default: its name).

        Returns once the instance is registered and this node's table lists
        it, so that a call made right after reaches it.
        """
        return await self.host(ServiceHandler.wrap(fn, name), home=home)

    async def host(self, handler: ServiceHandler, *, home: str | None = None) -> ServiceInstance:
        """
        Host C{handler} as an instance of the service it names.
        """
        self.start()
        home = check_service_url(home, "home") if home is not None else self.settings.service_home()
        instance = await self._bind(handler, home)
        try:
            reply = await self.registry_client.register(handler.name, instance.location, self.id)
        except BaseException:
            self.forget(instance)
            if instance.port is not None:
                await maybeDeferred(instance.port.stopListening)
            raise
        await self._listed(reply)
        instance.registered = True
        self._log.info("serving {service} at {location}", service=handler.name, location=instance.location)
        return instance

    async def _bind(self, handler: ServiceHandler, home: str) -> ServiceInstance:
        problem = None
        for _ in range(BIND_ATTEMPTS):
            location = await self.registry_client.setup(handler.name, home)
            instance = ServiceInstance(handler, location, self)
            instance.site = make_site(InstanceResource(instance, self.operations), self.reactor)
            try:
                instance.port = self._listen(location, instance.site)
            except CannotListenError as e:
                problem = e
                continue
            self._instances[location] = instance
            return instance
        raise HttpError(503, f"could not listen for {handler.name!r} after {BIND_ATTEMPTS} ports: {problem}")

    async def _listed(self, reply: dict[str, Any]) -> None:
        await self.ready()
        if reply.get("epoch") != self.table.epoch:
            return
        if not await wait_at_most(self.reactor, self.table.wait_for(reply["version"]), LISTED_TIMEOUT):
            self._log.warn("table did not show version {version} within {timeout}s",
                           version=reply["version"], timeout=LISTED_TIMEOUT)

    # -- lifetime ----------------------------------------------------------------

    def on_terminate(self, hook: Callable[[], Any]) -> None:
        """
        Run C{hook} (which may return a Deferred) first when the node terminates.
        """
        self._terminate_hooks.append(hook)

    def instances(self) -> list[ServiceInstance]:
        return list(self._instances.values())

    async def leave(self, instance: Hosted, settle_timeout: float) -> None:
        """
        Unregister C{instance} and wait until callers have dropped it.
        """
        await unregister_and_settle(self.registry_client, instance.name, instance.location, settle_timeout)

    def forget(self, instance: Hosted) -> None:
        self._instances.pop(instance.location, None)

    def terminate(self, drain_timeout: float = DRAIN_TIMEOUT, settle_timeout: float = SETTLE_TIMEOUT) -> Deferred[None]:
        """
        Stop every instance gracefully, stop following the table, close
        connections.  Safe to call more than once.
        """
        return self._terminating(lambda: self._terminate(drain_timeout, settle_timeout))

    async def _terminate(self, drain_timeout: float, settle_timeout: float) -> None:
        if self._terminate_hooks:
            await gatherResults([maybeDeferred(hook) for hook in self._terminate_hooks], consumeErrors=True)
        stops = [i.terminate(drain_timeout, settle_timeout) for i in list(self._instances.values())]
        if stops:
            await gatherResults(stops, consumeErrors=True)
        await self._watcher.stop()
        await self.http.close()

