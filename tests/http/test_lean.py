"""
The lean server channel: hot requests served by their handler, in order,
with every framing HTTP/1.1 allows; everything else handed to twisted.web.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from twisted.internet.testing import MemoryReactorClock, StringTransport

from micro._http.lean import LeanChannel
from micro._http.lean_limit import BodyCap
from micro._http.limits import FirstKeyLimit
from micro._http.site import make_site
from micro._kernel.protocol import IDLE_TIMEOUT
from tests._lean import Root, chunked, connect, post, replies


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
        assert not root.seen
        out = transport.value()
        assert out.startswith(b"HTTP/1.1 400 ") or b"\r\nServer: TwistedWeb/" in out  # twisted.web answered


def test_a_connection_comes_back_when_twisted_web_is_idle() -> None:
    """
    Requests read with the one handed over stay with twisted.web; once it
    has answered them all, the next request is the lean channel's again.
    """
    protocol, transport, root = connect()
    protocol.dataReceived(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n" + post(b"/echo", b"abc"))
    bodies = [b for _, _, b in replies(transport.value())]
    assert bodies == [b"web GET /x", b"web POST /echo"] and not root.seen
    assert protocol.handed_over is None and transport.producer is None
    protocol.dataReceived(post(b"/echo", b"again"))
    assert replies(transport.value())[-1][2] == b"again" and len(root.seen) == 1
    protocol.dataReceived(b"GET /y HTTP/1.1\r\nHost: x\r\n\r\n")
    protocol.dataReceived(post(b"/echo", b"lean"))
    assert [b for _, _, b in replies(transport.value())][-2:] == [b"web GET /y", b"lean"]


def test_a_connection_twisted_web_closes_is_not_taken_back() -> None:
    protocol, transport, root = connect()
    protocol.dataReceived(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert protocol.handed_over is not None and transport.disconnecting


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


def test_a_body_cap_chosen_by_the_first_key() -> None:
    """
    A L{FirstKeyLimit} lets a declared length within its smaller limit
    through, waits for the first key otherwise, and refuses by the limit
    the key chose.
    """
    choose = FirstKeyLimit(10, 100, frozenset({"call"}), "a command")
    assert BodyCap(choose, 5).limit == 10 and not BodyCap(choose, 5).choosing
    cap = BodyCap(choose, 50)
    assert cap.choosing and cap.limit == 100 and cap.declared_over() is None
    assert cap.choose(b'{"ca', 4) is None and cap.choosing
    assert cap.choose(b'{"call": 1', 10) is None and cap.limit == 100 and cap.over(100) is None
    cap = BodyCap(choose, 50)
    assert cap.choose(b'{"lookup": 1', 12) == "a command may have at most 10 bytes; this one has 50"
    cap = BodyCap(choose, None)
    assert cap.choose(b"[" * 11, 11) is None
    assert cap.over(11) == "a command may have at most 10 bytes; this one has more"
    assert BodyCap(None, 10**9).over(10**9) is None and BodyCap(5, 6).declared_over() is not None
