# -*- test-case-name: tests.registry.routes.test_splice -*-
"""
A route request served on the registry's lean channel
(L{micro._http.lean}), the common case of the front door: a whole request
body of known length, up to L{WHOLE_BODY} bytes, to an instance the lean
client reaches.  The request goes upstream as one write on a pooled
connection (L{micro._http.wire_requests.WireClient.stream}); the reply's
head is rewritten as it arrives and its body passed on piece by piece, the
instance's connection paused while the client's is full.

Failover, the timeout and the errors are those of
L{micro._registry.routes.exchange.RouteExchange}, which serves every other
route request through C{twisted.web}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IPushProducer, ISSLTransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from micro._http.failures import Kind, classify
from micro._http.lean_request import LeanRequest
from micro._http.respond import write_error
from micro._http.response import FullResponse
from micro._http.wire_requests import WireClient
from micro._kernel.errors import HttpError
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import REQUEST_ID_HEADER
from micro._registry.routes.exchange import Upstream, route_error
from micro._registry.routes.heads import forwarded_headers, reply_head
from micro._registry.routes.table import RouteEntry

# The largest request body served lean: read whole, then sent on in one
# write.  Larger or chunked bodies stream through twisted.web instead.
WHOLE_BODY = 64 * 1024
_LAST_CHUNK = b"0\r\n\r\n"


@implementer(IPushProducer)
class _Pause:
    """
    Pause the instance's connection while the client's is full.
    """

    __slots__ = ("_source", "paused")

    def __init__(self, source: Any):
        self._source = source
        self.paused = False

    def pauseProducing(self) -> None:
        self.paused = True
        self._source.pauseProducing()

    def resumeProducing(self) -> None:
        self.paused = False
        self._source.resumeProducing()

    def stopProducing(self) -> None:
        self._source.stopProducing()


class RouteSplice:
    """
    One route request, from the client's lean channel to an instance of
    the route's service and back (the C{BodySink} of its reply).
    """

    __slots__ = ("_upstream", "_wire", "_entry", "_location", "_observer", "_request", "_tried", "_pending",
                 "_timer", "_timed_out", "_request_id", "_headers", "_parts", "_chunked", "_sent", "_pause", "_done")

    _log = Logger()

    def __init__(self, upstream: Upstream, wire: WireClient, entry: RouteEntry, location: str, observer: Any):
        self._upstream = upstream
        self._wire = wire
        self._entry = entry
        self._location = location
        self._observer = observer
        self._request: LeanRequest | None = None
        self._tried: list[str] = []
        self._pending: Any = None
        self._timer: Any = None
        self._timed_out = False
        self._request_id = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._parts: list[bytes] = []
        self._chunked = False
        self._sent = False
        self._pause: _Pause | None = None
        self._done = False

    def serve(self, request: LeanRequest) -> Any:
        """
        The lean channel's handler: send the request on.
        """
        self._request = request
        propagation = Propagation.from_headers(request.getHeader)
        entry = self._entry
        if self._observer is not None:
            watch = self._observer.routing(request, request.method, entry.path, entry.service, propagation)
            propagation = watch.propagation or propagation
        self._request_id = propagation.request_id.encode("ascii")
        client = getattr(request.client_address, "host", None)
        secure = ISSLTransport.providedBy(request.transport)
        self._headers = forwarded_headers(request.raw_headers, request.headers.get(b"connection"), client,
                                          entry.data_type, propagation, secure)
        request.notifyFinish().addErrback(self._client_gone)
        self._timer = self._upstream.clock.callLater(self._upstream.timeout, self._time_out)
        self._send(self._location)
        return NOT_DONE_YET

    def _send(self, location: str) -> None:
        request = self._request
        assert request is not None
        self._tried.append(location)
        body = request.content.getvalue() or None
        d = self._wire.stream(request.method, location.encode("utf-8"), request.uri, body, self._headers, self)
        if d is None:  # a location the lean client does not reach: none was picked unless it does
            self._fail(HttpError(502, f"route to {self._entry.service!r}: cannot reach {location}"))
            return
        self._pending = d
        d.addCallbacks(self._whole, self._failed, errbackArgs=(location,))

    # -- the reply, as it arrives (BodySink) ------------------------------

    def head(self, code: int, phrase: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self._stop_timer()
        request = self._request
        assert request is not None
        request.code = code
        data, self._chunked = reply_head(code, phrase, headers, self._request_id, request.method == b"HEAD",
                                         request.close)
        self._parts.append(data)

    def append(self, piece: bytes) -> None:
        if not piece:
            return
        if self._chunked:
            self._parts += (b"%x\r\n" % len(piece), piece, b"\r\n")
        else:
            self._parts.append(piece)

    def flush(self, source: Any) -> None:
        parts, request = self._parts, self._request
        if not parts or request is None or self._done:
            return
        self._parts = []
        self._sent = True
        request.send_raw(b"".join(parts))
        transport = request.transport
        if self._pause is None and transport is not None and getattr(transport, "producer", None) is None:
            self._pause = _Pause(source)
            transport.registerProducer(self._pause, True)

    # -- outcomes -----------------------------------------------------------

    def _whole(self, response: FullResponse) -> None:
        self._pending = None
        request = self._request
        if self._done or request is None:
            return
        parts = self._parts
        if self._chunked:
            parts.append(_LAST_CHUNK)
        self._parts = []
        self._end()
        request.finish_raw(parts[0] if len(parts) == 1 else b"".join(parts))

    def _failed(self, failure: Failure, location: str) -> None:
        self._pending = None
        if self._done:
            return
        upstream = self._upstream
        if not self._timed_out and not self._parts and not self._sent and classify(failure).kind is Kind.NOT_SENT:
            upstream.balancer.suspect(location)
            service = self._entry.service
            following = upstream.balancer.pick(service, upstream.locations(service), exclude=self._tried)
            if following is not None:
                self._log.info("route to {service}: {location} is unreachable; trying {following} "
                               "(request {request_id})", service=service, location=location, following=following,
                               request_id=self._request_id.decode("ascii"))
                self._send(following)
                return
        if self._sent:
            # The reply's head went out: the only way left to say its body
            # is incomplete is to close the connection before its end.
            self._log.info("route to {service}: the reply broke off: {reason}", service=self._entry.service,
                           reason=failure.getErrorMessage())
            self._end()
            if self._request is not None:
                self._request.transport.loseConnection()
            return
        self._parts = []
        self._fail(route_error(failure, self._entry.service, location, len(self._tried),
                             upstream.timeout if self._timed_out else None))

    def _fail(self, error: HttpError) -> None:
        request = self._request
        self._end()
        if request is None:
            return
        request.setHeader(REQUEST_ID_HEADER, self._request_id)
        request.write(write_error(request, error))  # type: ignore[arg-type]  # a LeanRequest answers like one
        request.finish()

    def _client_gone(self, reason: Failure) -> None:
        if self._done:
            return
        self._end()
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()

    def _time_out(self) -> None:
        self._timer = None
        self._timed_out = True
        if self._pending is not None:
            self._pending.cancel()

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _end(self) -> None:
        """
        Nothing more goes to the client: stop the timer, and let go of the
        instance's connection if it was paused for the client.
        """
        self._done = True
        self._stop_timer()
        pause, self._pause = self._pause, None
        if pause is not None:
            request = self._request
            if request is not None and request.transport is not None:
                request.transport.unregisterProducer()
            if pause.paused:
                pause.resumeProducing()
