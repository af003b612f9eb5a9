"""
Route requests on the registry's lean channel (micro._registry.routes.splice),
on real sockets: a scripted instance on 127.0.0.1 answers as each test
says, and a raw client sees every byte of the front door's reply.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any, Callable

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Factory, Protocol

from micro._kernel.codec import dumps
from micro._kernel.protocol import TOKEN_HEADER

pytestmark = pytest.mark.integration


class Scripted(Protocol):
    """One connection to the scripted instance: each whole request goes to its factory's C{answer}."""

    def connectionMade(self) -> None:
        self._buffer = b""

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        while b"\r\n\r\n" in self._buffer:
            head, _, rest = self._buffer.partition(b"\r\n\r\n")
            found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            length = int(found.group(1)) if found else 0
            if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
                if b"0\r\n\r\n" not in rest:
                    return
                length = rest.index(b"0\r\n\r\n") + 5
                rest = rest[:length] + rest[length:]
            if len(rest) < length:
                return
            self._buffer = rest[length:]
            if head.startswith(b"GET /_micro/health "):  # the registry's check before it registers
                health = b'{"micro": true, "service": "backend"}'
                self.transport.write(_length_reply(health, b"Content-Type: application/json"))
                continue
            if self not in self.factory.connections:
                self.factory.connections.append(self)
            self.factory.requests.append((head, rest[:length]))
            self.factory.answer(self, head, rest[:length])

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.lost.append(self)
        waiting, self.factory.waiting_lost = self.factory.waiting_lost, []
        for d in waiting:
            d.callback(None)


class Instance(Factory):
    protocol = Scripted

    def __init__(self, answer: Callable[[Scripted, bytes, bytes], None]):
        self.answer = answer
        self.connections: list[Scripted] = []
        self.requests: list[tuple[bytes, bytes]] = []
        self.lost: list[Scripted] = []
        self.waiting_lost: list[Deferred[None]] = []


class RawClient(Protocol):
    """A client connection that keeps every byte of the reply."""

    def __init__(self) -> None:
        self.received = b""
        self.closed: Deferred[None] = Deferred()
        self._waits: list[tuple[Callable[[bytes], bool], Deferred[bytes]]] = []

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        self._check()

    def connectionLost(self, reason: Any = None) -> None:
        self.closed.callback(None)

    def until(self, done: Callable[[bytes], bool]) -> Deferred[bytes]:
        """Fires with what came once C{done} says it is enough (within 10 s)."""
        from twisted.internet import reactor

        d: Deferred[bytes] = Deferred()
        self._waits.append((done, d))
        self._check()
        return d.addTimeout(10, reactor) if not d.called else d

    def _check(self) -> None:
        for entry in list(self._waits):
            if entry[0](self.received):
                self._waits.remove(entry)
                entry[1].callback(self.received)


def _reply(code: int, headers: list[bytes], body: bytes = b"") -> bytes:
    return b"HTTP/1.1 %d X\r\n" % code + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def _length_reply(body: bytes, *headers: bytes) -> bytes:
    return _reply(200, [b"Content-Length: %d" % len(body), *headers], body)


async def _route(live: Any, answer: Callable[[Scripted, bytes, bytes], None], path: str = "/svc/*",
                 extra: list[str] = ()) -> tuple[Instance, int]:  # type: ignore[assignment]
    from twisted.internet import reactor

    instance = Instance(answer)
    port = reactor.listenTCP(0, instance, interface="127.0.0.1")
    live.nodes.append(_Closing(port))
    http = live.registry.stack.http
    for location in [*extra, f"http://127.0.0.1:{port.getHost().port}"]:
        await http.request(b"POST", live.registry.url.encode(), dumps(
            {"register": {"type": "service", "service": "backend", "location": location}}), timeout=5)
    await http.request(b"POST", live.registry.url.encode(), dumps(
        {"register": {"type": "route", "service": "backend", "path": path}}), timeout=5)
    return instance, int(live.registry.url.rsplit(":", 1)[1])


class _Closing:
    """Stops a listening port when the cluster stops (as a node would)."""

    def __init__(self, port: Any):
        self._port = port

    async def terminate(self) -> None:
        await maybeDeferred(self._port.stopListening)


async def _connect(port: int) -> RawClient:
    from twisted.internet import reactor

    return await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), RawClient())


def _whole_chunked(data: bytes) -> bool:
    return data.endswith(b"0\r\n\r\n")


def _unchunk(body: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if not size:
            return out
        out, body = out + body[:size], body[size + 2:]


def _whole_by_length(data: bytes) -> bool:
    head, blank, body = data.partition(b"\r\n\r\n")
    found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return bool(blank and found and len(body) == int(found.group(1)))


def _head_and_body(data: bytes) -> tuple[dict[bytes, bytes], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, v in (line.split(b":", 1) for line in lines)}, body


@pytest_twisted.ensureDeferred
async def test_a_reply_in_pieces_reaches_the_client_before_it_ends(live) -> None:  # type: ignore[no-untyped-def]
    """
    A chunked reply goes on as it arrives: the client holds the first piece
    while the instance has not sent the second; then the whole body, and the
    next request on both connections (the instance's one was kept).
    """
    held: list[Scripted] = []

    def answer(conn: Scripted, head: bytes, body: bytes) -> None:
        if head.startswith(b"GET /svc/stream "):
            conn.transport.write(_reply(200, [b"Transfer-Encoding: chunked"], b"5\r\nfirst\r\n"))
            held.append(conn)
        else:
            conn.transport.write(_length_reply(b"again"))

    instance, port = await _route(live, answer)
    client = await _connect(port)
    client.transport.write(b"GET /svc/stream HTTP/1.1\r\nHost: x\r\n\r\n")
    first = await client.until(lambda data: b"first" in data)
    assert b"second" not in first and b"transfer-encoding: chunked" in first.lower()
    held[0].transport.write(b"6\r\nsecond\r\n0\r\n\r\n")
    whole = await client.until(_whole_chunked)
    headers, body = _head_and_body(whole)
    assert body == b"5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n"
    assert re.fullmatch(rb"[0-9a-f]{32}", headers[b"x-request-id"]) and b"date" in headers
    client.received = b""
    client.transport.write(b"GET /svc/next HTTP/1.1\r\nHost: x\r\n\r\n")
    again = await client.until(lambda data: data.endswith(b"again"))
    assert _head_and_body(again)[0][b"content-length"] == b"5"
    assert len(instance.connections) == 1
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_headers_are_forwarded_and_relayed_by_the_rules(live) -> None:  # type: ignore[no-untyped-def]
    """
    Hop-by-hop headers, those the Connection header names and the registry
    token stay behind in both directions; X-Forwarded-For appends the
    client's address; the query reaches the instance; the instance's own
    request id is the one the client sees.
    """
    def answer(conn: Scripted, head: bytes, body: bytes) -> None:
        conn.transport.write(_length_reply(b"ok", b"Connection: x-secret", b"X-Secret: s", b"X-Kept: k",
                                           b"Keep-Alive: timeout=5", b"X-Request-Id: from-the-instance"))

    instance, port = await _route(live, answer)
    client = await _connect(port)
    client.transport.write(
        b"POST /svc/x?a=1&b=%20 HTTP/1.1\r\nHost: front.example\r\nConnection: keep-alive, x-drop-me\r\n"
        b"X-Drop-Me: 1\r\nKeep-Alive: 5\r\n" + TOKEN_HEADER + b": sekrit\r\nX-Forwarded-For: 10.0.0.1\r\n"
        b"X-Custom: yes\r\nContent-Length: 4\r\n\r\nbody")
    reply = await client.until(lambda data: data.endswith(b"ok"))
    head, body = instance.requests[0]
    lines = head.split(b"\r\n")
    sent = {k.strip().lower(): v.strip() for k, v in (line.split(b":", 1) for line in lines[1:])}
    assert lines[0] == b"POST /svc/x?a=1&b=%20 HTTP/1.1" and body == b"body"
    assert sent[b"x-custom"] == b"yes" and sent[b"content-length"] == b"4"
    assert sent[b"x-forwarded-for"] == b"10.0.0.1, 127.0.0.1"
    assert sent[b"x-forwarded-host"] == b"front.example" and sent[b"x-forwarded-proto"] == b"http"
    assert sent[b"x-micro-route"] and re.fullmatch(rb"[0-9a-f]{32}", sent[b"x-request-id"])
    for gone in (b"x-drop-me", b"keep-alive", TOKEN_HEADER, b"connection"):
        assert gone not in sent
    headers, body = _head_and_body(reply)
    assert reply.startswith(b"HTTP/1.1 200 X\r\n") and body == b"ok"
    assert headers[b"x-kept"] == b"k" and headers[b"content-length"] == b"2"
    assert headers[b"x-request-id"] == b"from-the-instance"
    for gone in (b"x-secret", b"keep-alive", b"connection", b"transfer-encoding"):
        assert gone not in headers
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_a_reply_that_breaks_off_closes_the_clients_connection(live) -> None:  # type: ignore[no-untyped-def]
    """
    An instance that closes before the body it announced is whole: the
    client gets what came, then its connection closes (nothing else can
    say the body is short).
    """
    def answer(conn: Scripted, head: bytes, body: bytes) -> None:
        conn.transport.write(_reply(200, [b"Content-Length: 100"], b"0123456789"))
        conn.transport.loseConnection()

    _, port = await _route(live, answer)
    client = await _connect(port)
    client.transport.write(b"GET /svc/short HTTP/1.1\r\nHost: x\r\n\r\n")
    await client.closed
    headers, body = _head_and_body(client.received)
    assert headers[b"content-length"] == b"100" and body == b"0123456789"


@pytest_twisted.ensureDeferred
async def test_an_unreachable_instance_is_skipped_for_the_next(live) -> None:  # type: ignore[no-untyped-def]
    """
    The first instance refuses connections: every request reaches the live one.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    instance, port = await _route(live, lambda conn, head, body: conn.transport.write(_length_reply(b"live")),
                                  extra=[dead])
    client = await _connect(port)
    for i in range(4):
        client.received = b""
        client.transport.write(b"POST /svc/n HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n%d" % i)
        reply = await client.until(lambda data: data.endswith(b"live"))
        assert reply.startswith(b"HTTP/1.1 200 ")
    assert [body for _, body in instance.requests] == [b"0", b"1", b"2", b"3"]
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_no_reply_in_time_is_a_504_and_the_instance_connection_goes(live) -> None:  # type: ignore[no-untyped-def]
    """
    An instance that never answers: a 504 naming the request id, and its
    connection is closed rather than reused.
    """
    live.registry.stack.proxy._upstream.timeout = 0.3
    instance, port = await _route(live, lambda conn, head, body: None)
    client = await _connect(port)
    lost: Deferred[None] = Deferred()
    instance.waiting_lost.append(lost)
    client.transport.write(b"GET /svc/slow HTTP/1.1\r\nHost: x\r\nX-Request-Id: my-request-1\r\n\r\n")
    reply = await client.until(lambda data: b"\r\n\r\n" in data and data.endswith(b"}"))
    headers, body = _head_and_body(reply)
    assert reply.startswith(b"HTTP/1.1 504 ") and headers[b"x-request-id"] == b"my-request-1"
    assert "no reply" in json.loads(body)["error"]
    await lost
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_a_client_that_leaves_closes_its_instance_connection(live) -> None:  # type: ignore[no-untyped-def]
    instance, port = await _route(live, lambda conn, head, body: None)
    client = await _connect(port)
    lost: Deferred[None] = Deferred()
    instance.waiting_lost.append(lost)
    client.transport.write(b"GET /svc/wait HTTP/1.1\r\nHost: x\r\n\r\n")
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    while not instance.requests:
        await deferLater(reactor, 0.01)
    client.transport.loseConnection()
    await lost


@pytest_twisted.ensureDeferred
async def test_head_large_and_chunked_requests(live) -> None:  # type: ignore[no-untyped-def]
    """
    A HEAD reply keeps its length and has no body; a body over the lean
    size and a chunked one stream through the other path, intact.
    """
    def answer(conn: Scripted, head: bytes, body: bytes) -> None:
        if head.startswith(b"HEAD "):
            conn.transport.write(_reply(200, [b"Content-Length: 5"]))
        else:
            conn.transport.write(_length_reply(b"%d" % len(body)))

    instance, port = await _route(live, answer)
    client = await _connect(port)
    client.transport.write(b"HEAD /svc/h HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = await client.until(lambda data: data.endswith(b"\r\n\r\n"))
    assert _head_and_body(reply)[0][b"content-length"] == b"5"
    client.received = b""
    large = b"x" * (200 * 1024)
    client.transport.write(b"POST /svc/big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(large) + large)
    reply = await client.until(lambda data: data.endswith(b"204800"))
    assert reply.startswith(b"HTTP/1.1 200 ")
    client.received = b""
    client.transport.write(b"POST /svc/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
    reply = await client.until(_whole_by_length)
    assert reply.startswith(b"HTTP/1.1 200 ")
    head, body = instance.requests[-1]
    assert head.startswith(b"POST /svc/chunked ") and _unchunk(body) == b"abcdefg"
    client.transport.loseConnection()
