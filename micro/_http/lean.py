# -*- test-case-name: tests.http.test_lean -*-
"""
A lean HTTP/1.1 server channel for a site's hot requests.

C{twisted.web} builds a C{Request}, two C{Headers} objects, a resource
lookup and a reply head field by field for every request; on an instance
that is most of the CPU a call costs.  A L{LeanChannel} reads the request
head itself, asks its site's root (an L{ILeanResource}) whether it wants
this request served lean, and if so reads the body (by length or chunked,
refusing one over the limit with a 413, answering C{Expect:
100-continue}) and hands a L{LeanRequest} to the handler the root gave.
Keep-alive and pipelined requests are answered in order.

Every other request, and anything the channel does not fully understand
(HTTP/1.0, a query string, an oversized head, ...), goes to
C{twisted.web}: the channel lends the connection, with the bytes it has
read, to the site's usual C{HTTPChannel}, and takes it back when that is
idle between requests (L{micro._http.lean_handover}).
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET

from micro._http.channel import MAX_HEADER_BYTES, refuse
from micro._http.lean_body import BadBody, ChunkedBody, Head, parse_head
from micro._http.lean_handover import WebLoan
from micro._http.lean_request import ILeanResource, LeanHandler, LeanRequest
from micro._http.lean_limit import BodyCap
from micro._http.limits import FIRST_KEY_WITHIN
from micro._http.respond import internal_error
from micro._http.sending import send_now

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\n\r\n"


class LeanChannel(Protocol):
    """
    One connection to a site whose root is an L{ILeanResource}.

    @ivar handed_over: The loan of this connection to C{twisted.web},
        while it serves it.
    """

    handed_over: Any = None
    transport: Any
    _log = Logger()

    def __init__(self, site: Any, address: Any, web_protocol: Callable[[], Any]):
        self._site = site
        self._root = site.resource
        self._address = address
        self._web_protocol = web_protocol
        self._clock = site.reactor
        self._buffer: bytes | bytearray = b""
        self._head: Head | None = None
        self._handler: LeanHandler | None = None
        self._cap: BodyCap | None = None
        self._chunked: ChunkedBody | None = None
        self._current: LeanRequest | None = None
        self._parsing = False
        self._paused = False
        self._last = 0.0
        self._timer: Any = None

    @property
    def shared_replies(self) -> Any:
        """
        The site's recent large replies, so that every connection sends one
        string for the same reply (L{micro._http.shared_replies}).
        """
        return getattr(self._site, "shared_replies", None)

    # -- the connection ---------------------------------------------------

    def connectionMade(self) -> None:
        timeout = getattr(self._site, "timeOut", None)
        if timeout:
            self._last = self._clock.seconds()
            self._timer = self._clock.callLater(timeout, self._idle_check, timeout)

    def dataReceived(self, data: bytes) -> None:
        self._last = self._clock.seconds()
        buffer = self._buffer
        if buffer:
            if isinstance(buffer, bytes):
                buffer = self._buffer = bytearray(buffer)
            buffer += data
        else:
            self._buffer = data
        if self._current is not None:
            # A pipelined request waits for the one before it: read no more meanwhile.
            if not self._paused:
                self._paused = True
                self.transport.pauseProducing()
            return
        if not self._parsing:
            self._parse()

    def connectionLost(self, reason: Any = None) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.handed_over is not None:
            self.handed_over.protocol.connectionLost(reason)
            return
        current, self._current = self._current, None
        if current is not None:
            current.lost(reason)

    def _idle_check(self, timeout: float) -> None:
        self._timer = None
        idle = self._clock.seconds() - self._last
        if self._current is None and idle >= timeout:
            self.transport.loseConnection()
            return
        self._timer = self._clock.callLater(max(timeout - idle, 0.001) if self._current is None else timeout,
                                            self._idle_check, timeout)

    # -- reading requests ---------------------------------------------------

    def _parse(self) -> None:
        self._parsing = True
        try:
            while self._current is None and (self._buffer or self._head is not None) and self.handed_over is None:
                if not self._step():
                    break
        finally:
            self._parsing = False

    def _step(self) -> bool:
        """
        Read what the buffer holds of the next request; whether to go on.
        """
        if self.transport.disconnecting:
            return False
        head = self._head
        if head is None:
            return self._read_head()
        buffer = self._buffer
        chunked = self._chunked
        cap = self._cap
        assert cap is not None
        if chunked is None:
            length = head.length or 0
            if cap.choosing and self._refused(cap.choose(bytes(buffer[:FIRST_KEY_WITHIN]), len(buffer))):
                return False
            if len(buffer) < length:
                return False
            body = bytes(buffer[:length])
            rest = buffer[length:]
        else:
            try:
                taken = chunked.feed(buffer)
            except BadBody:
                self._bad_request()
                return False
            if taken:
                buffer = self._buffer = buffer[taken:]
            if cap.choosing and self._refused(cap.choose(chunked.prefix(), chunked.size)):
                return False
            if self._refused(cap.over(chunked.size + chunked.pending)):
                return False
            if not chunked.done:
                return False
            body = chunked.body()
            rest = buffer
        self._buffer = bytes(rest) if rest else b""
        self._dispatch(head, body)
        return True

    def _read_head(self) -> bool:
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                self._hand_over()
            return False
        if end + 4 > MAX_HEADER_BYTES:
            self._hand_over()
            return False
        head = parse_head(bytes(buffer[:end]))
        chosen = None
        if head is not None:
            chosen = self._root.lean_handler(head.method, head.target, head.headers)
        if chosen is None:
            self._hand_over()
            return False
        assert head is not None
        self._handler, limit = chosen
        cap = self._cap = BodyCap(limit, head.length)
        if self._refused(cap.declared_over()):
            return False
        self._buffer = buffer[end + 4:]
        self._head = head
        self._chunked = ChunkedBody() if head.length is None else None
        if head.expect_continue:
            self.transport.write(_CONTINUE)
        return True

    def _refused(self, why: str | None) -> bool:
        """Refuse the request with a 413 saying C{why}, if there is a why."""
        if why is None:
            return False
        self._buffer = b""
        self._head = self._chunked = self._handler = self._cap = None
        refuse(self, 413, b"Content Too Large", why)
        return True

    def _bad_request(self) -> None:
        self._buffer = b""
        self.transport.write(_BAD_REQUEST)
        self.transport.loseConnection()

    def _hand_over(self) -> None:
        """
        Let C{twisted.web} serve this connection until it is idle again.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        protocol = self._web_protocol()
        data, self._buffer = self._buffer, b""
        self.dataReceived = protocol.dataReceived  # type: ignore[method-assign]
        loan = self.handed_over = WebLoan(protocol, self._web_done)
        loan.start(self.transport, bytes(data))

    def _web_done(self) -> None:
        loan = self.handed_over
        if loan is None or not loan.idle():
            return
        loan.end()
        self.handed_over = None
        del self.dataReceived
        self.connectionMade()

    def buffered(self) -> int:
        """How many bytes of requests this channel holds (read, not yet answered)."""
        return len(self._buffer) + (self._chunked.size if self._chunked is not None else 0)

    # -- answering ----------------------------------------------------------

    def _dispatch(self, head: Head, body: bytes) -> None:
        handler = self._handler
        assert handler is not None
        self._head = self._chunked = self._handler = self._cap = None
        request = self._current = LeanRequest(self, head.method, head.target, head.headers, head.raw, body,
                                              head.close, self._address)
        try:
            result = handler(request)
        except Exception:
            result = internal_error(Failure(), request, "a lean request")  # type: ignore[arg-type]
        if result is NOT_DONE_YET:
            return
        if isinstance(result, bytes):
            request.write(result)
        request.finish()

    def send_part(self, request: LeanRequest, data: bytes) -> None:
        """
        Send part of C{request}'s reply; it goes on with L{reply}.
        """
        if request is self._current:
            send_now(self.transport, data)

    def reply(self, request: LeanRequest, data: bytes) -> None:
        """
        C{request} is answered with C{data}: send it, then go on to the
        next request.
        """
        if request is not self._current:
            return
        self._current = None
        transport = self.transport
        send_now(transport, data)
        if request.close:
            self._buffer = b""
            transport.loseConnection()
            return
        if self._paused:
            self._paused = False
            transport.resumeProducing()
        if (self._buffer or self._head is not None) and not self._parsing:
            self._parse()
