# -*- test-case-name: tests.registry.test_endpoint -*-
"""
The registry's JSON commands: parsing, validation and what each one does.

A command is a JSON object with one key, the command's name, whose value is
its argument: C{{"lookup": "billing"}}.
"""

from __future__ import annotations

import hmac
import time
from typing import Any, Callable

from attrs import define, field, frozen
from twisted.internet.defer import Deferred

from micro._calls.balancer import RoundRobin
from micro._calls.caller import Caller
from micro._http.client import FullResponse, HttpClient
from micro._kernel.codec import JSON_TYPE, encode_value
from micro._kernel.errors import HttpError, InvalidArgument, UnknownService, WrongType
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import NOT_READY
from micro._kernel.validation import check_location, check_service_name
from micro._registry.arguments import as_object, integer, node_id, number, required
from micro._registry.metrics import RATE_WINDOW, ServiceMetrics, parse_report
from micro._registry.probe import LocationProbe
from micro._registry.state import RegistryState
from micro._registry.store.interface import ClusterStore
from micro._registry.watch_hub import WatchHub

MAX_SETTLE_TIMEOUT = 30.0

# A command: its argument, and for a command that passes on its request's
# context, the Propagation too.
Handler = Callable[..., Any]


@frozen
class KindHandlers:
    """
    What C{register} and C{unregister} do for one C{"type"} of entry.
    """

    register: Handler
    unregister: Handler


@frozen
class CommandReply:
    """
    A reply to relay as it is: status, content type and body.
    """

    code: int
    content_type: bytes
    body: bytes

    @classmethod
    def json(cls, body: bytes) -> CommandReply:
        return cls(200, JSON_TYPE, body)


@frozen
class Sender:
    """
    Who sent a command: whether they showed the registry token, and the
    context of the request it is part of, if it said (C{call} and
    C{publish} pass it on).
    """

    token: bytes | None = None
    propagation: Propagation | None = None


def parse_command(document: Any, valid: list[str]) -> tuple[str, Any]:
    """
    Split a command document into its name and argument.
    """
    names = ", ".join(valid)
    if not isinstance(document, dict) or len(document) != 1:
        shape = type(document).__name__ if not isinstance(document, dict) else f"{len(document)} keys"
        raise InvalidArgument(f"a command is a JSON object with exactly one key, not {shape}; commands: {names}")
    [(name, argument)] = document.items()
    if name not in valid:
        raise InvalidArgument(f"unknown command {name[:60]!r}; commands: {names}")
    return name, argument


@define
class RegistryCommands:
    """
    Run commands against a L{RegistryState} and its L{WatchHub}.

    @ivar token: The shared secret that state-changing commands must carry,
        or C{None} for an open registry.
    @ivar register_types: What C{register}/C{unregister} do for each
        C{"type"} (C{"service"} here; routes add their own).
    @ivar metrics: The call counts nodes report on their watches, per service.
    """

    state: RegistryState
    hub: WatchHub
    _http: HttpClient
    store: ClusterStore
    token: str | None = None
    call_timeout: float = 30.0
    verify_locations: bool = True
    _handlers: dict[str, Handler] = field(factory=dict, init=False)
    protected: set[str] = field(factory=set, init=False)
    _passing_on: set[str] = field(factory=set, init=False)
    register_types: dict[str, KindHandlers] = field(factory=dict, init=False)
    _caller: Caller = field(init=False)
    _probe: LocationProbe | None = field(init=False)
    metrics: ServiceMetrics = field(init=False)

    def __attrs_post_init__(self) -> None:
        self.metrics = ServiceMetrics(self.state, self._http.reactor, window=max(RATE_WINDOW, 2 * self.hub.hold))
        self._caller = Caller(self._http, RoundRobin(self._http.reactor), self.state.locations)
        self._probe = LocationProbe(self._http) if self.verify_locations else None
        self.add("health", self._health)
        self.add("lookup", self._lookup)
        self.add("setup", self._setup, protected=True)
        self.add("register", self._register, protected=True)
        self.add("unregister", self._unregister, protected=True)
        self.add("call", self._call, passes_on=True)
        self.add("watch", self._watch, protected=True)
        self.add("heartbeat", self._heartbeat, protected=True)
        self.add("settle", self._settle)
        self.register_types["service"] = KindHandlers(self._register_service, self._unregister_service)

    def add(self, name: str, handler: Handler, *, protected: bool = False, passes_on: bool = False) -> None:
        """
        Add a command; a protected one needs the registry token; one that
        C{passes_on} its request's context is called with the L{Propagation}
        too (a new one if the sender gave none).
        """
        self._handlers[name] = handler
        if protected:
            self.protected.add(name)
        if passes_on:
            self._passing_on.add(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def run(self, document: Any, sender: Sender) -> Any:
        """
        Run one command; the result is JSON-able, a L{CommandReply}, or a
        Deferred of either.  Bad input raises L{HttpError}.
        """
        name, argument = parse_command(document, self.names())
        if name in self.protected:
            self._check_token(sender.token, name)
        if name in self._passing_on:
            return self._handlers[name](argument, sender.propagation or Propagation.new())
        return self._handlers[name](argument)

    def _check_token(self, offered: bytes | None, command: str) -> None:
        if self.token is None:
            return
        if offered is None:
            raise HttpError(401, f"{command} needs the registry token (header Micro-Registry-Token)")
        if not hmac.compare_digest(offered, self.token.encode("utf-8")):
            raise HttpError(403, f"{command} refused: wrong registry token")

    # -- commands ---------------------------------------------------------

    def _health(self, argument: Any) -> dict[str, Any]:
        self._check_ready()
        state = self.state
        table = state.table()
        return {"status": "ready", "timestamp": int(time.time() * 1000), "epoch": state.epoch,
                "version": state.version, "recovering": state.recovering,
                "uptime": round(self._http.reactor.seconds() - state.started, 3), "nodes": len(state.nodes()),
                "watching": self.hub.watching(), "services": len(table),
                "instances": sum(len(locations) for locations in table.values()), "store": self.store.describe()}

    def _check_ready(self) -> None:
        """
        A registry cut off from its shared store must not be watched: its
        view goes stale and the leases it renews go nowhere.
        """
        if not self.store.ready:
            raise HttpError(503, f"{NOT_READY}: it cannot reach its store ({self.store.describe()}); "
                                 "use another registry")

    def _lookup(self, argument: Any) -> Any:
        if not self.store.loaded:
            raise HttpError(503, f"{NOT_READY}: it has not loaded the cluster's state from its store "
                                 f"({self.store.describe()}) yet")
        if argument in ("all", "*"):
            return self.state.table()
        return self.state.lookup(check_service_name(argument))

    def _setup(self, argument: Any) -> Deferred[str]:
        argument = as_object(argument, "setup", '{"service": "name", "home": "http://host"}')
        check_service_name(required(argument, "service", "setup"))
        home = argument.get("home", argument.get("domain"))
        if home is None:
            raise InvalidArgument("setup needs 'home', the base URL to allocate a port on, like 'http://localhost'")
        return self.store.allocate(home)

    def _register(self, argument: Any) -> Any:
        return self._handlers_for(argument, "register").register(argument)

    def _unregister(self, argument: Any) -> Any:
        return self._handlers_for(argument, "unregister").unregister(argument)

    def _handlers_for(self, argument: Any, command: str) -> KindHandlers:
        argument = as_object(argument, command, '{"service": "name", "location": "http://host:port"}')
        kind = argument.get("type", "service")
        handlers = self.register_types.get(kind) if isinstance(kind, str) else None
        if handlers is None:
            kinds = ", ".join(sorted(self.register_types))
            raise InvalidArgument(f"{command} type must be one of: {kinds}; not {kind!r}")
        return handlers

    def _register_service(self, argument: dict[str, Any]) -> Any:
        service = check_service_name(required(argument, "service", "register"))
        location = check_location(required(argument, "location", "register"))
        node = argument.get("node")
        node = None if node is None else node_id(node)
        known = self.state.instance_at(location)
        if self._probe is None or (known is not None and known.service == service):
            return self._add_instance(service, location, node)
        d = self._probe.verify(service, location)
        return d.addCallback(lambda _: self._add_instance(service, location, node))

    def _add_instance(self, service: str, location: str, node: str | None) -> Deferred[dict[str, Any]]:
        d = self.store.change({"op": "register", "service": service, "location": location, "node": node})
        return d.addCallback(lambda version: {"registered": location, "epoch": self.state.epoch, "version": version})

    def _unregister_service(self, argument: dict[str, Any]) -> Deferred[dict[str, Any]]:
        service = check_service_name(required(argument, "service", "unregister"))
        location = check_location(required(argument, "location", "unregister"))
        d = self.store.change({"op": "unregister", "service": service, "location": location})
        return d.addCallback(lambda version: {"unregistered": location, "epoch": self.state.epoch,
                                              "version": version})

    def _call(self, argument: Any, propagation: Propagation) -> Deferred[CommandReply]:
        argument = as_object(argument, "call", '{"service": "name", "payload": {...}}')
        service = check_service_name(argument.get("service", argument.get("name")))
        location = self._caller.pick(service)
        if location is None:
            raise UnknownService(service)
        body, content_type = encode_value(argument.get("payload"))
        d = self._caller.send(service, location, body, content_type, self.call_timeout, propagation=propagation)
        return d.addCallback(_relay)

    def _watch(self, argument: Any) -> Deferred[CommandReply]:
        argument = as_object(argument, "watch", '{"node": "id", "epoch": "...", "version": 0}')
        node = node_id(required(argument, "node", "watch"))
        epoch = argument.get("epoch") or ""
        if not isinstance(epoch, str):
            raise WrongType("watch epoch must be a string")
        version = integer(argument.get("version", -1), "watch version")
        self._check_ready()
        stats = argument.get("stats")
        report = None if stats is None else parse_report(stats)
        d = self.hub.watch(node, epoch, version)
        self.metrics.report(node, report)
        return d.addCallback(CommandReply.json)

    def _heartbeat(self, argument: Any) -> dict[str, Any]:
        argument = as_object(argument, "heartbeat", '{"node": "id"}')
        node = argument.get("node", argument.get("location"))
        known = self.state.renew(node_id(node))
        return {"known": known, "epoch": self.state.epoch, "version": self.state.version}

    def _settle(self, argument: Any) -> Deferred[dict[str, Any]]:
        argument = as_object(argument, "settle", '{"version": 12, "timeout": 2}')
        version = integer(required(argument, "version", "settle"), "settle version")
        timeout = number(argument.get("timeout", 2.0), "settle timeout")
        return self.hub.settle(version, min(max(timeout, 0.0), MAX_SETTLE_TIMEOUT))


def _relay(reply: FullResponse) -> CommandReply:
    return CommandReply(reply.code, reply.header(b"content-type") or JSON_TYPE, reply.body)
