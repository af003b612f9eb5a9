"""
The lean server channel: hot requests served by their handler, in order,
with every framing HTTP/1.1 allows; everything else handed to twisted.web.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from micro._http.lean import ILeanResource, LeanChannel
from micro._http.lean_request import LeanRequest
from micro._http.site import make_site
from micro._kernel.protocol import IDLE_TIMEOUT


@implementer(ILeanResource)
class Root(Resource):
    """
    POST /echo and POST /later are lean; everything goes to render otherwise.
    """

    isLeaf = True

    def __init__(self, limit: int | None = 1000):
        super().__init__()
        self.limit = limit
        self.seen: list[LeanRequest] = []
        self.waiting: list[tuple[LeanRequest, Deferred[bytes]]] = []

    def lean_handler(self, method: bytes, path: bytes, headers: dict[bytes, bytes]) -> Any:
        if method == b"POST" and path == b"/echo":
            return self.echo, self.limit
        if method == b"POST" and path == b"/later":
            return self.later, self.limit
        if method == b"POST" and path == b"/boom":
            return self.boom, self.limit
        return None

    def echo(self, request: LeanRequest) -> bytes:
        self.seen.append(request)
        request.setHeader(b"content-type", b"application/octet-stream")
        request.setHeader(b"x-trace", request.getHeader(b"traceparent") or b"-")
        return request.content.read()

    def later(self, request: LeanRequest) -> Any:
        d: Deferred[bytes] = Deferred()
        self.waiting.append((request, d))

        def answer(body: bytes) -> None:
            request.setHeader(b"content-type", b"text/plain")
            request.write(body)
            request.finish()
        d.addCallback(answer)
        return NOT_DONE_YET

    def boom(self, request: LeanRequest) -> bytes:
        raise RuntimeError("boom")

    def render(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"text/plain")
        return b"web " + request.method + b" " + request.uri


class Transport(StringTransport):
    paused = 0

    def pauseProducing(self) -> None:
        self.paused += 1
        super().pauseProducing()


def connect(root: Root | None = None, clock: MemoryReactorClock | None = None) -> tuple[Any, Transport, Root]:
    root = root or Root()
    site = make_site(root, clock or MemoryReactorClock())
    protocol = site.buildProtocol(None)
    transport = Transport()
    protocol.makeConnection(transport)
    return protocol, transport, root


def post(path: bytes, body: bytes, *headers: bytes) -> bytes:
    lines = [b"POST " + path + b" HTTP/1.1", b"Host: x", b"Content-Length: %d" % len(body), *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(path: bytes, pieces: list[bytes], *headers: bytes) -> bytes:
    lines = [b"POST " + path + b" HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked", *headers]
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces if p) + b"0\r\nTrailer: t\r\n\r\n"
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def replies(raw: bytes) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """
    The replies in C{raw}, each with a content-length.
    """
    out = []
    while raw:
        head, _, raw = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"transfer-encoding" in headers:
            size_line, _, raw = raw.partition(b"\r\n")
            size = int(size_line, 16)
            body, raw = raw[:size], raw[size + 2:]
            raw = raw.partition(b"\r\n\r\n")[2] if size else raw
            if size:
                raw = raw[raw.index(b"0\r\n\r\n") + 5:] if raw.startswith(b"0\r\n\r\n") else raw
        else:
            size = int(headers.get(b"content-length", b"0"))
            body, raw = raw[:size], raw[size:]
        out.append((int(lines[0].split(b" ")[1]), headers, body))
    return out


def test_a_call_is_served_lean_with_its_headers() -> None:
    protocol, transport, root = connect()
    assert isinstance(protocol, LeanChannel)
    protocol.dataReceived(post(b"/echo", b"hello", b"traceparent: 00-abc-01", b"X-Other: a", b"x-other: b"))
    [(code, headers, body)] = replies(transport.value())
    assert (code, body) == (200, b"hello")
    assert headers[b"x-trace"] == b"00-abc-01"
    assert headers[b"content-type"] == b"application/octet-stream"
    assert b"date" in headers
    assert protocol.handed_over is None and not transport.disconnecting
    request = root.seen[0]
    assert request.requestHeaders.getRawHeaders(b"x-other") == [b"a", b"b"]
    assert request.getHeader("TRACEPARENT") == "00-abc-01"


@pytest.mark.parametrize("build", [
    lambda: post(b"/echo", b'{"a": 1}', b"Connection: keep-alive") + post(b"/echo", b"two"),
    lambda: chunked(b"/echo", [b'{"a"', b": 1}"]) + chunked(b"/echo", [b"t", b"wo"]),
])
def test_split_reads_at_every_byte(build: Any) -> None:
    """
    Two pipelined requests, split anywhere, are answered in order.
    """
    data = build()
    for split in range(len(data) + 1):
        protocol, transport, _ = connect()
        protocol.dataReceived(data[:split])
        protocol.dataReceived(data[split:])
        assert [(c, b) for c, _, b in replies(transport.value())] == [(200, b'{"a": 1}'), (200, b"two")], split


def test_byte_at_a_time() -> None:
    protocol, transport, _ = connect()
    for byte in chunked(b"/echo", [b"ab", b"cd"]) + post(b"/echo", b"ef"):
        protocol.dataReceived(bytes([byte]))
    assert [b for _, _, b in replies(transport.value())] == [b"abcd", b"ef"]


def test_pipelined_requests_wait_for_a_slow_one() -> None:
    """
    A request behind one still running is read, but answered after it;
    reading stops meanwhile.
    """
    protocol, transport, root = connect()
    protocol.dataReceived(post(b"/later", b"") + post(b"/echo", b"second"))
    assert transport.value() == b"" and transport.paused == 0
    protocol.dataReceived(post(b"/echo", b"third"))
    assert transport.value() == b"" and transport.paused == 1
    root.waiting[0][1].callback(b"first")
    assert [b for _, _, b in replies(transport.value())] == [b"first", b"second", b"third"]
    assert transport.producerState == "producing"


def test_a_client_gone_cancels_nothing_but_is_told() -> None:
    protocol, transport, root = connect()
    protocol.dataReceived(post(b"/later", b""))
    request, d = root.waiting[0]
    finished = request.notifyFinish()
    lost: list[Any] = []
    finished.addErrback(lost.append)
    protocol.connectionLost(Exception("gone"))
    assert lost and request.finished
    d.callback(b"late")
    assert transport.value() == b""


def test_connection_close_is_honoured() -> None:
    protocol, transport, _ = connect()
    protocol.dataReceived(post(b"/echo", b"x", b"Connection: close") + post(b"/echo", b"y"))
    [(code, headers, body)] = replies(transport.value())
    assert headers[b"connection"] == b"close" and body == b"x"
    assert transport.disconnecting


def test_over_the_limit_is_refused_with_413() -> None:
    for data in (post(b"/echo", b"z" * 1001), chunked(b"/echo", [b"z" * 600, b"z" * 600])):
        protocol, transport, _ = connect()
        protocol.dataReceived(data)
        code, _, body = replies(transport.value())[0]
        assert code == 413
        assert json.loads(body)["error"] == "request body larger than the limit of 1000 bytes"
        protocol.dataReceived(b"more that is thrown away")
        assert len(replies(transport.value())) == 1


def test_no_limit_takes_any_body() -> None:
    protocol, transport, _ = connect(Root(limit=None))
    protocol.dataReceived(post(b"/echo", b"z" * 5000))
    assert replies(transport.value())[0][2] == b"z" * 5000


def test_expect_100_continue() -> None:
    protocol, transport, _ = connect()
    head, _, body = post(b"/echo", b"abc", b"Expect: 100-continue").partition(b"\r\n\r\n")
    protocol.dataReceived(head + b"\r\n\r\n")
    assert transport.value() == b"HTTP/1.1 100 Continue\r\n\r\n"
    transport.clear()
    protocol.dataReceived(body)
    assert replies(transport.value())[0][2] == b"abc"


def test_an_expectation_over_the_limit_gets_413_not_100() -> None:
    protocol, transport, _ = connect()
    protocol.dataReceived(post(b"/echo", b"z" * 2000, b"Expect: 100-continue").partition(b"\r\n\r\n")[0] + b"\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.1 413 ")


def test_a_broken_chunked_body_is_a_400() -> None:
    protocol, transport, _ = connect()
    protocol.dataReceived(b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert transport.value().startswith(b"HTTP/1.1 400 ") and transport.disconnecting


def test_a_failing_handler_is_a_500() -> None:
    protocol, transport, _ = connect()
    protocol.dataReceived(post(b"/boom", b""))
    code, _, body = replies(transport.value())[0]
    assert code == 500 and "internal error" in json.loads(body)["error"]
    protocol.dataReceived(post(b"/echo", b"still here"))
    assert replies(transport.value())[1][2] == b"still here"


@pytest.mark.parametrize("data", [
    b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n",
    b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"POST /echo?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"POST /echo HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nFolded: a\r\n b\r\nContent-Length: 0\r\n\r\n",
])
def test_other_requests_are_handed_to_twisted_web(data: bytes) -> None:
    for split in (1, len(data) // 2, len(data)):
        protocol, transport, root = connect()
        protocol.dataReceived(data[:split])
        protocol.dataReceived(data[split:])
        assert protocol.handed_over is not None
        assert not root.seen
        assert transport.value().startswith(b"HTTP/1.")


def test_a_handed_over_connection_stays_with_twisted_web() -> None:
    protocol, transport, root = connect()
    protocol.dataReceived(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n" + post(b"/echo", b"abc"))
    bodies = [b for _, _, b in replies(transport.value())]
    assert bodies == [b"web GET /x", b"web POST /echo"] and not root.seen
    protocol.dataReceived(post(b"/echo", b"again"))
    assert replies(transport.value())[-1][2] == b"web POST /echo"


def test_a_lean_request_then_a_handed_over_one_in_order() -> None:
    protocol, transport, root = connect()
    protocol.dataReceived(post(b"/later", b"") + b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
    assert transport.value() == b""
    root.waiting[0][1].callback(b"first")
    assert [b for _, _, b in replies(transport.value())] == [b"first", b"web GET /x"]


def test_an_oversized_head_is_a_431_from_twisted_web() -> None:
    protocol, transport, _ = connect()
    protocol.dataReceived(b"POST /echo HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.1 431 ")


def test_idle_connections_are_dropped_busy_ones_are_not() -> None:
    clock = MemoryReactorClock()
    protocol, transport, root = connect(clock=clock)
    clock.advance(IDLE_TIMEOUT - 1)
    protocol.dataReceived(post(b"/later", b""))
    clock.advance(IDLE_TIMEOUT * 3)
    assert not transport.disconnecting
    root.waiting[0][1].callback(b"done")
    clock.advance(IDLE_TIMEOUT - 0.5)
    assert not transport.disconnecting
    clock.advance(IDLE_TIMEOUT)
    assert transport.disconnecting


def test_drain_closes_lean_and_handed_over_connections() -> None:
    root = Root()
    site = make_site(root, MemoryReactorClock())
    transports = []
    for data in (post(b"/echo", b"x"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
        protocol = site.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(data)
        transports.append(transport)
    site.close_connections()
    assert all(t.disconnecting for t in transports)
