# -*- test-case-name: tests.registry.routes.test_proxy -*-
"""
HTTP routes in the registry: the route commands, the route table's life
with the nodes that claim routes, and the resource that proxies requests.
"""

from __future__ import annotations

import re
from typing import Any

from attrs import define, field
from twisted.logger import Logger
from twisted.web.client import UNKNOWN_LENGTH
from twisted.web.resource import Resource
from twisted.web.server import Request
from zope.interface import implementer

from micro._calls.balancer import RoundRobin
from micro._http.client import HttpClient
from micro._http.early_request import IBodyReceiver, IStreamingResource
from micro._http.streams import BodyPipe
from micro._kernel.errors import HttpError, InvalidArgument
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._kernel.route_paths import check_data_type, check_route_path
from micro._kernel.validation import check_service_name
from micro._registry.arguments import as_object, node_id
from micro._registry.commands import KindHandlers, RegistryCommands
from micro._registry.routes.proxy import RefusedRoute, RouteExchange, Upstream, upstream_headers
from micro._registry.routes.table import RouteTable
from micro._registry.state import RegistryState

# What a request target may hold to be sent on (as the Agent checks it).
_FORWARDABLE = re.compile(rb"\A[\x21-\x7e]+\Z")
_EXAMPLE = '{"type": "route", "path": "/api/users/*", "service": "users", "dataType": "dynamic"}'


def _argument(argument: Any, command: str) -> dict[str, Any]:
    checked = as_object(argument, command, _EXAMPLE)
    if checked.get("path") is None:
        raise InvalidArgument(f"{command} of a route needs 'path', like {_EXAMPLE}")
    return checked


@define
class RegistryRoutes:
    """
    The registry's routes and what keeps them: commands add and withdraw
    them, nodes that die take their claims with them.

    @ivar development: Whether a 404 lists the routes there are.
    """

    state: RegistryState
    _http: HttpClient
    _clock: Any
    development: bool = False
    timeout: float = DEFAULT_TIMEOUT
    table: RouteTable = field(factory=RouteTable)
    _upstream: Upstream = field(init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self._upstream = Upstream(self._http, RoundRobin(self._clock), self.state.locations, self._clock,
                                  self.timeout)
        self.state.on_evict(self._node_gone)

    @classmethod
    def install(cls, commands: RegistryCommands, http: HttpClient, clock: Any, *,
                development: bool = False) -> RegistryRoutes:
        """
        Routes for the registry behind C{commands}: C{register} and
        C{unregister} learn C{"type": "route"}, and C{routes} lists them.
        """
        routes = cls(commands.state, http, clock, development)
        commands.register_types["route"] = KindHandlers(routes.register, routes.unregister)
        commands.add("routes", routes.describe_all)
        return routes

    def resource(self) -> RouteProxy:
        return RouteProxy(self)

    # -- commands --------------------------------------------------------------

    def register(self, argument: Any) -> dict[str, Any]:
        argument = _argument(argument, "register")
        path = check_route_path(argument["path"])
        service = check_service_name(argument.get("service"))
        data_type = check_data_type(argument.get("dataType", argument.get("data_type")))
        node = argument.get("node")
        if node is not None:
            # The claim lives on the node's lease, like its instances.
            self.state.renew(node_id(node))
        replaced = self.table.add(path, service, data_type, node)
        reply: dict[str, Any] = {"route": path, "service": service, "dataType": data_type}
        if replaced is not None:
            reply["replaced"] = replaced.describe()
        return reply

    def unregister(self, argument: Any) -> dict[str, Any]:
        argument = _argument(argument, "unregister")
        path = check_route_path(argument["path"])
        node = argument.get("node")
        if self.table.get(path) is None:
            raise HttpError(404, f"no route is registered at {path}")
        removed = self.table.remove(path, None if node is None else node_id(node))
        return {"unregistered": path, "removed": removed}

    def describe_all(self, argument: Any = None) -> list[dict[str, Any]]:
        return [entry.describe() for entry in self.table.entries()]

    def _node_gone(self, node: str) -> None:
        self.table.release_node(node)

    # -- requests ---------------------------------------------------------------

    def dispatch(self, request: Request, method: bytes, uri: bytes, length: int | None) -> RefusedRoute | RouteExchange:
        """
        Decide where a request goes, as soon as its headers are in, and start
        sending it there.
        """
        try:
            return self._dispatch(request, method, uri, length)
        except Exception:
            self._log.failure("routing {method} {uri} failed", method=method, uri=uri[:200])
            return RefusedRoute(HttpError(500, "internal error in the registry's routes; see its log"))

    def _dispatch(self, request: Request, method: bytes, uri: bytes, length: int | None) -> RefusedRoute | RouteExchange:
        if not _FORWARDABLE.match(uri):
            return RefusedRoute(HttpError(400, "the request target holds spaces, control or non-ASCII characters; "
                                               "percent-encode them"))
        path = uri.split(b"?", 1)[0].decode("latin-1")
        entry = self.table.match(path)
        if entry is None:
            error = HttpError(404, f"no route matches {path[:200]}")
            return RefusedRoute(error, {"routes": self.describe_all()} if self.development else None)
        service = entry.service
        upstream = self._upstream
        location = upstream.balancer.pick(service, upstream.locations(service))
        if location is None:
            return RefusedRoute(HttpError(503, f"route {entry.path} leads to service {service!r}, "
                                               "which has no live instance"))
        body = None
        if length != 0:
            # The client's connection: paused while the upstream cannot take more.
            source: Any = request.channel.transport
            body = BodyPipe(source, UNKNOWN_LENGTH if length is None else length)
        exchange = RouteExchange(upstream, request, method, uri, service, upstream_headers(request, entry.data_type),
                                 body)
        exchange.start(location)
        return exchange


@implementer(IStreamingResource)
class RouteProxy(Resource):
    """
    Every request that is not a registry command: proxied along its route.
    """

    isLeaf = True

    def __init__(self, routes: RegistryRoutes):
        super().__init__()
        self._routes = routes

    def receive_body(self, request: Request, method: bytes, uri: bytes, length: int | None) -> IBodyReceiver:
        return self._routes.dispatch(request, method, uri, length)

    def render(self, request: Request) -> Any:
        receiver = getattr(request, "body_receiver", None)
        if receiver is None:
            # A Site that buffered the body first (not an EarlyRequest).
            body = request.content.read() if request.content is not None else b""
            receiver = self._routes.dispatch(request, request.method, request.uri, len(body))
            if body:
                receiver.body_received(body)
            receiver.body_done()
        return receiver.respond(request)
