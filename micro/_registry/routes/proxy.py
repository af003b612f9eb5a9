# -*- test-case-name: tests.registry.routes.test_proxy -*-
"""
The registry's front door: every request that is not a registry command
is matched against the route table and proxied to an instance of the
route's service (see L{micro._registry.routes.exchange}).
"""

from __future__ import annotations

import re
from typing import Any

from twisted.logger import Logger
from twisted.web.client import UNKNOWN_LENGTH
from twisted.web.resource import Resource
from twisted.web.server import Request
from zope.interface import implementer

from micro._http.early_request import IBodyReceiver, IStreamingResource
from micro._http.lean_request import LeanHandler
from micro._http.streams import BodyPipe
from micro._http.wire_requests import WireClient
from micro._kernel.errors import HttpError
from micro._kernel.observer import Observer
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import REQUEST_ID_HEADER
from micro._registry.routes.exchange import RefusedRoute, RouteExchange, Upstream, upstream_headers
from micro._registry.routes.splice import WHOLE_BODY, RouteSplice
from micro._registry.routes.table import RouteEntry, RouteTable

# What a request target may hold to be sent on (as the Agent checks it).
_FORWARDABLE = re.compile(rb"\A[\x21-\x7e]+\Z")


@implementer(IStreamingResource)
class RouteProxy(Resource):
    """
    Every request that is not a registry command: proxied along its route.

    A request's route is chosen as soon as its headers are in, and its
    body streams to the instance while it arrives.

    @ivar development: Whether a 404 lists the routes there are.
    @ivar observer: Watches every request, if set.
    """

    isLeaf = True
    _log = Logger()

    def __init__(self, table: RouteTable, upstream: Upstream, *, development: bool = False):
        super().__init__()
        self._table = table
        self._upstream = upstream
        self.development = development
        self.observer: Observer | None = None
        self._wire: WireClient | None = getattr(upstream.http, "wire", None)

    def lean_handler(self, method: bytes, target: bytes, headers: dict[bytes, bytes]) -> LeanHandler | None:
        """
        The common route request, served on the lean channel
        (L{micro._registry.routes.splice}): a body of known length up to
        C{WHOLE_BODY}, a route that matches, an instance the lean client
        reaches.  Every other one (C{None}) goes through L{render}, which
        streams its body or answers it.
        """
        wire = self._wire
        if wire is None or b"transfer-encoding" in headers or _FORWARDABLE.match(target) is None:
            return None
        length = headers.get(b"content-length")
        if length is not None and int(length) > WHOLE_BODY:
            return None
        entry = self._table.match((target.split(b"?", 1)[0] if b"?" in target else target).decode("latin-1"))
        if entry is None:
            return None
        upstream = self._upstream
        location = upstream.balancer.pick(entry.service, upstream.locations(entry.service))
        if location is None or not wire.takes(location.encode("utf-8")):
            return None
        return RouteSplice(upstream, wire, entry, location, self.observer).serve

    def receive_body(self, request: Request, method: bytes, uri: bytes, length: int | None) -> IBodyReceiver:
        return self.dispatch(request, method, uri, length)

    def render(self, request: Request) -> Any:
        receiver = getattr(request, "body_receiver", None)
        if receiver is None:
            # A Site that buffered the body first (not an EarlyRequest).
            body = request.content.read() if request.content is not None else b""
            receiver = self.dispatch(request, request.method, request.uri, len(body))
            if body:
                receiver.body_received(body)
            receiver.body_done()
        return receiver.respond(request)

    def dispatch(self, request: Request, method: bytes, uri: bytes, length: int | None) -> RefusedRoute | RouteExchange:
        """
        Decide where a request goes, as soon as its headers are in, and start
        sending it there.
        """
        # The front door: a request enters the cluster here, with its
        # client's request id and trace context or new ones; the reply
        # names the request id.
        propagation = Propagation.from_headers(request.getHeader)
        request.setHeader(REQUEST_ID_HEADER, propagation.request_id.encode("ascii"))
        try:
            forwardable = _FORWARDABLE.match(uri) is not None
            entry = self._table.match(uri.split(b"?", 1)[0].decode("latin-1")) if forwardable else None
            if self.observer is not None:
                watch = self.observer.routing(request, method, entry.path if entry else None,
                                              entry.service if entry else None, propagation)
                propagation = watch.propagation or propagation
            return self._dispatch(request, method, uri, length, forwardable, entry, propagation)
        except Exception:
            self._log.failure("routing {method} {uri} failed (request {request_id}, trace {trace_id})", method=method,
                              uri=uri[:200], request_id=propagation.request_id, trace_id=propagation.trace_id)
            return RefusedRoute(HttpError(500, "internal error in the registry's routes; see its log"))

    def _dispatch(self, request: Request, method: bytes, uri: bytes, length: int | None, forwardable: bool,
                  entry: RouteEntry | None, propagation: Propagation) -> RefusedRoute | RouteExchange:
        if not forwardable:
            return RefusedRoute(HttpError(400, "the request target holds spaces, control or non-ASCII characters; "
                                               "percent-encode them"))
        path = uri.split(b"?", 1)[0].decode("latin-1")
        if entry is None:
            error = HttpError(404, f"no route matches {path[:200]}")
            return RefusedRoute(error, {"routes": [e.describe() for e in self._table.entries()]} if self.development else None)
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
        headers = upstream_headers(request, entry.data_type, propagation)
        exchange = RouteExchange(upstream, request, method, uri, service, headers, body, propagation)
        exchange.start(location)
        return exchange
