# -*- test-case-name: tests.node.test_node -*-
"""
A process's membership in a micro cluster: its table of services, the
instances it hosts, and the calls it makes.
"""

from __future__ import annotations

import os
import secrets
import socket
from typing import Any, Callable
from urllib.parse import urlsplit

from attrs import define, field
from twisted.internet.defer import CancelledError, Deferred, fail, gatherResults, maybeDeferred, succeed
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import Site

from micro._calls.balancer import RoundRobin
from micro._calls.caller import Caller, unknown_service
from micro._calls.decoding import decode_reply
from micro._http.client import HttpClient
from micro._http.limits import CALL_LIMIT
from micro._http.site import make_site
from micro._kernel.codec import across, encode_value
from micro._kernel.config import Settings, listen_interface
from micro._kernel.deferreds import observe, wait_at_most
from micro._kernel.errors import HttpError
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._kernel.validation import check_service_name
from micro._node.cache.service import EVICTION_INTERVAL, EXPIRE_TIME, CacheService, start_cache_service
from micro._node.handler import ServiceHandler
from micro._node.instance import DRAIN_TIMEOUT, SETTLE_TIMEOUT, ServiceInstance
from micro._node.instance_resource import InstanceResource
from micro._node.pubsub.service import PubSubService
from micro._node.pubsub.subscriber import NodePubSub
from micro._node.registry_client import RegistryClient
from micro._node.routes.declared import Route, routes_of
from micro._node.table import ServiceTable
from micro._node.table_watcher import TableWatcher

BIND_ATTEMPTS = 20
READY_TIMEOUT = 10.0
LISTED_TIMEOUT = 5.0

Listen = Callable[[str, Site], IListeningPort]


def _new_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(6)}"


def tcp_listener(reactor: Any) -> Listen:
    """
    Listen on the port of a location; loopback hosts bind loopback only.
    """
    def listen(location: str, site: Site) -> IListeningPort:
        parts = urlsplit(location)
        assert parts.hostname is not None and parts.port is not None
        return reactor.listenTCP(parts.port, site, interface=listen_interface(parts.hostname))  # type: ignore[no-any-return]
    return listen


@define(eq=False)
class Node:
    """
    Everything one process needs to take part in a cluster.

    It follows the registry's table (L{TableWatcher}), hosts service
    instances, and calls services directly: round-robin over the table,
    in-process when the chosen instance lives here.

    Build one with L{Node.create}; most programs use the process's default
    node through L{micro.create_service} and L{micro.call_service}.
    """

    reactor: Any
    settings: Settings
    http: HttpClient
    registry: RegistryClient
    id: str
    _listen: Listen
    max_payload_bytes: int | None = CALL_LIMIT
    table: ServiceTable = field(factory=ServiceTable)
    _balancer: RoundRobin = field(init=False)
    _caller: Caller = field(init=False)
    _watcher: TableWatcher = field(init=False)
    _instances: dict[str, ServiceInstance] = field(factory=dict, init=False)
    _missing: dict[str, int] = field(factory=dict, init=False)
    _rejoin_hooks: list[Callable[[], Deferred[Any]]] = field(factory=list, init=False)
    _terminating: Deferred[None] | None = field(default=None, init=False)
    _pubsub: NodePubSub | None = field(default=None, init=False)
    _terminate_hooks: list[Callable[[], Any]] = field(factory=list, init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self._balancer = RoundRobin(self.reactor)
        self._caller = Caller(self.http, self._balancer, self.table.locations)
        self._watcher = TableWatcher(self.registry, self.id, self.table, self._balancer, self.reactor, self.rejoin)

    @classmethod
    def create(cls, reactor: Any, settings: Settings | None = None, *, http: HttpClient | None = None,
               listen: Listen | None = None, node_id: str | None = None,
               max_payload_bytes: int | None = CALL_LIMIT) -> Node:
        """
        A node for C{reactor}, configured from C{settings} (default: the
        environment).  Tests inject C{http} and C{listen}.

        @param max_payload_bytes: The largest call payload (and pub/sub
            delivery) its instances accept; larger ones get a 413.
        """
        settings = settings or Settings.from_environ()
        http = http or HttpClient.create(reactor)
        registry = RegistryClient(http, settings.registry_url, settings.token)
        return cls(reactor, settings, http, registry, node_id or _new_node_id(), listen or tcp_listener(reactor),
                   max_payload_bytes)

    # -- following the table ---------------------------------------------------

    def start(self) -> None:
        """
        Start following the registry's table (done by the first use).
        """
        if self._terminating is None:
            self._watcher.start()

    @property
    def joined(self) -> bool:
        """
        Whether this node has started following its registry (or handed
        out a pub/sub client bound to it).
        """
        return self._watcher.running or self._pubsub is not None or self._terminating is not None

    def ready(self, timeout: float = READY_TIMEOUT) -> Deferred[None]:
        """
        Fires once the table has been loaded from the registry; fails with a
        503 if that takes longer than C{timeout} seconds.
        """
        self.start()
        d = self._watcher.loaded()
        if d.called:
            return d
        timer = self.reactor.callLater(timeout, d.cancel)

        def done(result: Any) -> Any:
            if timer.active():
                timer.cancel()
            if isinstance(result, Failure) and result.check(CancelledError):
                raise HttpError(503, f"no service table from the registry at {self.registry.url} "
                                     f"after {timeout:g}s; is it running?")
            return result
        return d.addBoth(done)

    def on_rejoin(self, hook: Callable[[], Deferred[Any]]) -> None:
        """
        Run C{hook} whenever the node registers again with a registry that
        lost it (routes and subscriptions use this).
        """
        self._rejoin_hooks.append(hook)

    def rejoin(self) -> Deferred[None]:
        """
        Register every live instance again (after a registry restart).

        Fails if the registry could not be asked, so that the caller tries
        again; a registration it refuses (a 4xx) is logged and not retried.
        """
        work = [self.registry.register(i.name, i.location, self.id).addErrback(self._refused, i.location)
                for i in self._instances.values() if not i.draining]
        work.extend(hook() for hook in self._rejoin_hooks)
        d = gatherResults(work, consumeErrors=True)
        return d.addCallback(lambda _: self._log.info("registered {count} instances again", count=len(work)))

    def _refused(self, failure: Failure, location: str) -> None | Failure:
        error = failure.value
        if isinstance(error, HttpError) and error.status < 500:
            self._log.error("the registry refuses {location} again: {error}", location=location, error=error)
            return None
        return failure

    # -- calls ----------------------------------------------------------------

    def call(self, service: str, payload: Any = None, *, timeout: float = DEFAULT_TIMEOUT,
             retries: int = 0) -> Deferred[Any]:
        """
        Call an instance of C{service} and return its decoded result;
        failures are L{HttpError}s.
        """
        if not self.table.loaded:
            return self._when_ready(service, payload, timeout, retries)
        location = self._caller.pick(service)
        instance = self._instances.get(location) if location is not None else None
        try:
            if instance is not None:
                crossed, content_type, size = across(payload)
            else:
                body, content_type = encode_value(payload)
        except TypeError as e:
            return fail(TypeError(f"payload for {service!r} is {e}"))
        if instance is not None:
            return instance.call_in_process(crossed, content_type, size, timeout)
        if location is None:
            return self._missing_service(service, body, content_type, timeout, retries)
        d = self._caller.send(service, location, body, content_type, timeout, retries)
        return d.addCallback(decode_reply, f"service {service!r}")

    def _when_ready(self, service: str, payload: Any, timeout: float, retries: int) -> Deferred[Any]:
        d = self.ready(min(timeout, READY_TIMEOUT))
        return d.addCallback(lambda _: self.call(service, payload, timeout=timeout, retries=retries))

    def _missing_service(self, service: str, body: bytes, content_type: bytes, timeout: float,
                         retries: int) -> Deferred[Any]:
        """
        Not in our table: ask the registry once per table version, in case
        the service registered a moment ago and its change is on its way.
        """
        try:
            check_service_name(service)
        except HttpError as e:
            return fail(e)
        version = self.table.version
        if self._missing.get(service) == version:
            return unknown_service(service)
        deadline = self.reactor.seconds() + timeout

        def found(location: str) -> Deferred[Any]:
            remaining = max(deadline - self.reactor.seconds(), 0.0)
            d = self._caller.send(service, location, body, content_type, remaining, retries)
            return d.addCallback(decode_reply, f"service {service!r}")

        def not_found(failure: Failure) -> Failure:
            error = failure.value
            if isinstance(error, HttpError) and error.status == 404:
                self._missing[service] = version
                return failure
            if isinstance(error, HttpError) and error.status in (503, 504):
                raise HttpError(503, f"no instance of {service!r} is known here and the registry "
                                     f"cannot be asked: {error.message}")
            return failure

        return self.registry.lookup(service, timeout).addCallbacks(found, not_found)

    # -- hosting ----------------------------------------------------------------

    async def create_service(self, fn: Callable[..., Any], name: str | None = None, *,
                             home: str | None = None) -> ServiceInstance:
        """
        Host C{fn} as an instance of service C{name} (default: its name).

        Returns once the instance is registered and this node's table lists
        it, so that a call made right after reaches it.
        """
        handler = ServiceHandler.wrap(fn, name)
        self.start()
        instance = await self._bind(handler, home or self.settings.service_home())
        try:
            reply = await self.registry.register(handler.name, instance.location, self.id)
        except BaseException:
            self.forget(instance)
            if instance.port is not None:
                await maybeDeferred(instance.port.stopListening)
            raise
        await self._listed(reply)
        self._log.info("serving {service} at {location}", service=handler.name, location=instance.location)
        return instance

    async def _bind(self, handler: ServiceHandler, home: str) -> ServiceInstance:
        problem = None
        for _ in range(BIND_ATTEMPTS):
            location = await self.registry.setup(handler.name, home)
            instance = ServiceInstance(handler, location, self)
            instance.site = make_site(InstanceResource(instance), self.reactor)
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

    # -- pub/sub and cache (see _pubsub_node, _cache_service) ----------------

    @property
    def pubsub(self) -> NodePubSub:
        if self._pubsub is None:
            self._pubsub = NodePubSub(self)
        return self._pubsub

    def create_pubsub_service(self) -> Deferred[PubSubService]:
        return succeed(PubSubService(self.pubsub))

    def publish(self, channel: str, message: Any, *, timeout: float | None = None) -> Deferred[dict[str, Any]]:
        return self.pubsub.publish(channel, message, timeout=timeout)

    def cache_service(self, expire_time: float | None = EXPIRE_TIME, eviction_interval: float | None = EVICTION_INTERVAL,
                      *, max_entries: int | None = None, name: str = "cache") -> Deferred[CacheService]:
        return Deferred.fromCoroutine(start_cache_service(self, expire_time, eviction_interval, max_entries, name))

    def on_terminate(self, hook: Callable[[], Any]) -> None:
        """
        Run C{hook} (which may return a Deferred) first when the node terminates.
        """
        self._terminate_hooks.append(hook)

    async def create_route(self, path: str, target: Callable[..., Any] | str, data_type: str = "dynamic") -> Route:
        """
        Route HTTP requests on C{path} at the registry to a service: the one
        C{target} names, or one made of the function C{target}.  See
        L{micro._node.routes.declared.NodeRoutes.create}.
        """
        return await routes_of(self).create(path, target, data_type)

    def instances(self) -> list[ServiceInstance]:
        return list(self._instances.values())

    async def leave(self, instance: ServiceInstance, settle_timeout: float) -> None:
        """
        Unregister C{instance} and wait until callers have dropped it.
        """
        try:
            reply = await self.registry.unregister(instance.name, instance.location)
            settled = await self.registry.settle(reply["version"], settle_timeout)
        except HttpError as e:
            if e.status == 503:
                self._log.info("registry unreachable; {service} at {location} leaves without unregistering",
                               service=instance.name, location=instance.location)
            elif e.status != 404:
                self._log.warn("could not unregister {service} at {location}: {error}",
                               service=instance.name, location=instance.location, error=e)
            return
        if not settled.get("settled"):
            self._log.info("{lagging} nodes had not dropped {location} after {timeout}s",
                           lagging=settled.get("lagging"), location=instance.location, timeout=settle_timeout)

    def forget(self, instance: ServiceInstance) -> None:
        self._instances.pop(instance.location, None)

    def terminate(self, drain_timeout: float = DRAIN_TIMEOUT, settle_timeout: float = SETTLE_TIMEOUT) -> Deferred[None]:
        """
        Stop every instance gracefully, stop following the table, close
        connections.  Safe to call more than once.
        """
        if self._terminating is None:
            self._terminating = Deferred.fromCoroutine(self._terminate(drain_timeout, settle_timeout))
        return observe(self._terminating)

    async def _terminate(self, drain_timeout: float, settle_timeout: float) -> None:
        if self._terminate_hooks:
            await gatherResults([maybeDeferred(hook) for hook in self._terminate_hooks], consumeErrors=True)
        stops = [i.terminate(drain_timeout, settle_timeout) for i in list(self._instances.values())]
        if stops:
            await gatherResults(stops, consumeErrors=True)
        await self._watcher.stop()
        await self.http.close()

