# -*- test-case-name: tests.registry.routes.test_proxy -*-
"""
Proxying one HTTP request to an instance of a route's service.

The upstream request starts as soon as the client's headers are in; its
body and the reply's body stream through (see L{micro._http.streams}).  An
instance that cannot be reached before anything was sent to it is skipped
for the next one.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers
from twisted.web.iweb import IRequest, IResponse
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from micro._calls.balancer import RoundRobin
from micro._http.client import HttpClient
from micro._http.early_request import IBodyReceiver
from micro._http.failures import Kind, classify
from micro._http.respond import write_error, write_json
from micro._http.streams import BodyPipe, ResponseRelay, drop_body
from micro._kernel.errors import HttpError
from micro._kernel.propagation import Propagation
from micro._registry.routes.heads import HOP_BY_HOP, NO_LENGTH_STATUSES, forwarded_headers, listed_in_connection

def upstream_headers(request: IRequest, data_type: str, propagation: Propagation) -> Headers:
    """
    The headers to send upstream (L{micro._registry.routes.heads.forwarded_headers}).
    """
    incoming = request.requestHeaders
    raw = [(name, value) for name, values in incoming.getAllRawHeaders() for value in values]
    connection = b",".join(incoming.getRawHeaders(b"connection", ())) or None
    client = getattr(request.getClientAddress(), "host", None)
    headers = Headers()
    for name, value in forwarded_headers(raw, connection, client, data_type, propagation, request.isSecure()):
        headers.addRawHeader(name, value)
    return headers


def relay_headers(response: IResponse, request: IRequest) -> None:
    """
    Give the client the upstream status and headers, less hop-by-hop ones.
    """
    request.setResponseCode(response.code, response.phrase)
    # The reply says its own content type, or has none; Site must not add one.
    request.defaultContentType = None  # type: ignore[attr-defined]
    drop = HOP_BY_HOP | listed_in_connection(b",".join(response.headers.getRawHeaders(b"connection", ())))
    for name, values in response.headers.getAllRawHeaders():
        if name.lower() not in drop:
            request.responseHeaders.setRawHeaders(name, values)
    # The Agent keeps Content-Length out of the headers (it frames the body);
    # passing it on spares the client a chunked reply and tells it the size.
    length = response.length
    if isinstance(length, int) and response.code not in NO_LENGTH_STATUSES \
            and not request.responseHeaders.hasHeader(b"content-length"):
        request.responseHeaders.setRawHeaders(b"content-length", [b"%d" % length])


@implementer(IBodyReceiver)
@define(eq=False)
class RefusedRoute:
    """
    A route request answered by the registry itself (no route, no instance);
    its body is read and dropped.
    """

    error: HttpError
    extra: dict[str, Any] | None = None

    def body_received(self, data: bytes) -> None:
        pass

    def body_done(self) -> None:
        pass

    def respond(self, request: IRequest) -> bytes:
        if self.extra is None:
            return write_error(request, self.error)
        document = {"error": self.error.message, "status": self.error.status, **self.extra}
        return write_json(request, document, self.error.status)


@define
class Upstream:
    """
    What every exchange of a registry shares: the client, the balancer, the
    service table and the clock.

    @ivar timeout: Seconds an instance has to start its reply once the
        request body is in.
    """

    http: HttpClient
    balancer: RoundRobin
    locations: Callable[[str], list[str]]
    clock: Any
    timeout: float


@implementer(IBodyReceiver)
@define(eq=False)
class RouteExchange:
    """
    One client request on its way to an instance of C{service} and back.
    """

    _upstream: Upstream
    _request: Request
    _method: bytes
    _uri: bytes
    _service: str
    _headers: Headers
    _body: BodyPipe | None
    _propagation: Propagation
    _tried: list[str] = field(factory=list, init=False)
    _pending: Deferred[IResponse] | None = field(default=None, init=False)
    _outcome: IResponse | HttpError | None = field(default=None, init=False)
    _rendered: bool = field(default=False, init=False)
    _gone: bool = field(default=False, init=False)
    _timer: Any = field(default=None, init=False)
    _timed_out: bool = field(default=False, init=False)
    _relay: ResponseRelay | None = field(default=None, init=False)

    _log = Logger()

    def start(self, location: str) -> None:
        self._request.notifyFinish().addErrback(self._client_gone)
        self._send(location)

    def _send(self, location: str) -> None:
        self._tried.append(location)
        d = self._upstream.http.response(self._method, location.encode("utf-8") + self._uri, self._headers, self._body)
        self._pending = d
        d.addCallbacks(self._answered, self._failed, errbackArgs=(location,))

    # -- the client's side ------------------------------------------------------

    def body_received(self, data: bytes) -> None:
        if self._body is not None:
            self._body.body_received(data)

    def body_done(self) -> None:
        if self._body is not None:
            self._body.body_done()
        if self._outcome is None and not self._gone:
            self._timer = self._upstream.clock.callLater(self._upstream.timeout, self._time_out)

    def respond(self, request: IRequest) -> int:
        self._rendered = True
        self._deliver()
        return NOT_DONE_YET

    def _client_gone(self, reason: Failure) -> None:
        self._gone = True
        self._stop_timer()
        if self._body is not None:
            self._body.fail(reason)
        self._cancel_pending()
        if self._relay is not None:
            self._relay.client_gone()

    # -- the instance's side --------------------------------------------------

    def _answered(self, response: IResponse) -> None:
        self._stop_timer()
        if self._gone:
            drop_body(response)
            return
        self._outcome = response
        self._deliver()

    def _failed(self, failure: Failure, location: str) -> None:
        if self._gone:
            return
        if not self._timed_out and classify(failure).kind is Kind.NOT_SENT and not (self._body is not None and self._body.started):
            self._upstream.balancer.suspect(location)
            following = self._upstream.balancer.pick(
                self._service, self._upstream.locations(self._service), exclude=self._tried)
            if following is not None:
                self._log.info("route to {service}: {location} is unreachable; trying {following} "
                               "(request {request_id}, trace {trace_id})", service=self._service, location=location,
                               following=following, request_id=self._propagation.request_id,
                               trace_id=self._propagation.trace_id)
                self._send(following)
                return
        self._stop_timer()
        if self._body is not None:
            self._body.discard()
        self._outcome = route_error(failure, self._service, location, len(self._tried),
                                  self._upstream.timeout if self._timed_out else None)
        self._deliver()

    def _time_out(self) -> None:
        self._timer = None
        self._timed_out = True
        self._cancel_pending()

    def _cancel_pending(self) -> None:
        # Not "if not called": while the request is under way the Deferred
        # has "fired" with the Deferred it waits on, and cancel() passes on.
        if self._pending is not None and self._outcome is None:
            self._pending.cancel()

    def _stop_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _deliver(self) -> None:
        outcome, request = self._outcome, self._request
        if not self._rendered or outcome is None or self._gone:
            return
        if isinstance(outcome, HttpError):
            request.write(write_error(request, outcome))
            request.finish()
            return
        relay_headers(outcome, request)
        self._relay = ResponseRelay(request, f"route to {self._service}")
        request.registerProducer(self._relay, True)
        outcome.deliverBody(self._relay)


def route_error(failure: Failure, service: str, location: str, tries: int, timeout: float | None) -> HttpError:
    """
    The error for a request that got no reply; C{timeout} is set if it ran out.
    """
    left = "" if tries == 1 else f" (tried {tries} instances)"
    if timeout is not None:
        return HttpError(504, f"route to {service!r}: no reply from {location} within {timeout:g}s")
    outcome = classify(failure)
    if outcome.kind is Kind.NOT_SENT:
        return HttpError(503, f"route to {service!r}: {location} is unreachable{left}")
    return HttpError(502, f"route to {service!r}: {location} failed: {outcome.detail}{left}")
