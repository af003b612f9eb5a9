"""
The lean client on an in-memory reactor: the bytes it writes, the replies
it reads, how it keeps, reuses and drops connections, and how its
failures read to L{micro._http.failures.classify} (no network).
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.error import ConnectionDone, ConnectionLost, ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from micro._http.client import HttpClient
from micro._http.failures import Kind, RequestTimedOut, classify
from micro._http.response import FullResponse
from micro._http.wire_requests import target
from micro._kernel.errors import HttpError
from tests._fake_agents import SilentAgent
from tests._helpers import failed, fired, waiting

URL = b"http://127.0.0.1:8000/x"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class _Socket:
    def __init__(self, peek: Any):
        self.peek = peek

    def recv(self, size: int, flags: int) -> bytes:
        if isinstance(self.peek, BaseException):
            raise self.peek
        return self.peek  # type: ignore[no-any-return]


class _Transport(StringTransport):
    """
    A connection whose closing reaches the protocol on the next turn of
    C{clock}, as the reactor's does.
    """

    def __init__(self, clock: MemoryReactorClock):
        super().__init__()
        self.clock = clock
        self.closed = False
        self.socket = _Socket(BlockingIOError())

    def loseConnection(self) -> None:
        self._close(ConnectionDone())

    def abortConnection(self) -> None:
        self.aborted = True
        self._close(ConnectionLost())

    def _close(self, reason: Exception) -> None:
        if not self.closed:
            self.closed = self.disconnecting = True
            self.clock.callLater(0, self.protocol.connectionLost, Failure(reason))


class _Net:
    def __init__(self, max_per_host: int = 64):
        self.reactor = MemoryReactorClock()
        self.http = HttpClient.create(self.reactor, max_per_host=max_per_host)
        self.transports: list[_Transport] = []

    def accept(self) -> _Transport:
        """
        Complete the last connection the client started.
        """
        factory = self.reactor.tcpClients[len(self.transports)][2]
        protocol = factory.buildProtocol(None)
        transport = _Transport(self.reactor)
        transport.protocol = protocol
        protocol.makeConnection(transport)
        self.transports.append(transport)
        return transport

    def request(self, method: bytes = b"POST", url: bytes = URL, body: bytes | None = b"{}", **kw: Any) -> Any:
        return self.http.request(method, url, body, **kw)


def test_the_request_bytes_and_the_reply() -> None:
    """
    One write: request line, Host, Content-Length, the given headers (pairs or Headers), the body.
    """
    net = _Net()
    d = net.request(headers=[(b"content-type", b"application/json"), (b"x-id", b"a\r\nb")])
    wire = net.accept()
    assert wire.value() == (b"POST /x HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Length: 2\r\n"
                            b"content-type: application/json\r\nx-id: a b\r\n\r\n{}")
    wire.protocol.dataReceived(OK)
    reply: FullResponse = fired(d)
    assert (reply.code, reply.body, reply.header(b"content-type")) == (200, b"{}", b"application/json")
    wire.clear()
    net.request(b"GET", b"http://localhost:8000", None, headers=Headers({b"accept": [b"*/*"]}))
    assert len(net.reactor.tcpClients) == 1  # localhost is 127.0.0.1: the same connection
    assert wire.value() == b"GET / HTTP/1.1\r\nHost: localhost:8000\r\nAccept: */*\r\n\r\n"


def test_a_connection_is_reused() -> None:
    """
    The second request goes on the first's connection; a chunked reply leaves it reusable too.
    """
    net = _Net()
    d = net.request()
    wire = net.accept()
    wire.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n")
    assert fired(d).body == b"ab"
    wire.clear()
    d = net.request()
    assert len(net.reactor.tcpClients) == 1 and wire.value().startswith(b"POST /x ")
    wire.protocol.dataReceived(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)
    assert fired(d).code == 200


def test_a_reply_ended_by_close() -> None:
    """
    A reply without a length ends when the server closes; the next request connects anew.
    """
    net = _Net()
    d = net.request()
    wire = net.accept()
    wire.protocol.dataReceived(b"HTTP/1.1 200 OK\r\n\r\nall")
    assert waiting(d)
    wire.protocol.connectionLost(Failure(ConnectionDone()))
    assert fired(d).body == b"all"
    net.request()
    assert len(net.reactor.tcpClients) == 2


def test_connection_close_is_honoured() -> None:
    """
    A reply saying Connection: close has its connection closed, not kept.
    """
    net = _Net()
    d = net.request()
    wire = net.accept()
    wire.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert fired(d).code == 200 and wire.disconnecting
    net.request()
    assert len(net.reactor.tcpClients) == 2


def test_a_reply_over_the_limit_is_a_502() -> None:
    """
    A body over the limit fails the request with a 502 and drops the connection.
    """
    net = _Net()
    d = net.request(limit=10)
    wire = net.accept()
    wire.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")
    error = failed(d)
    assert isinstance(error, HttpError) and error.status == 502 and wire.aborted


def test_a_timeout_drops_the_connection() -> None:
    """
    No reply within the timeout: RequestTimedOut, and the connection is aborted, not reused.
    """
    net = _Net()
    d = net.request(timeout=2)
    wire = net.accept()
    net.reactor.advance(2)
    assert isinstance(failed(d), RequestTimedOut) and wire.aborted
    net.reactor.advance(0)
    net.request()
    assert len(net.reactor.tcpClients) == 2


def test_a_timeout_while_connecting() -> None:
    """
    A connection that never completes times the request out too.
    """
    net = _Net()
    d = net.request(timeout=1)
    net.reactor.advance(1)
    assert isinstance(failed(d), RequestTimedOut)


def test_a_refused_connection_was_not_sent() -> None:
    """
    Connecting fails as with the Agent: the request never reached the server.
    """
    net = _Net()
    d = net.request()
    connector = net.reactor.connectors[-1]
    net.reactor.tcpClients[-1][2].clientConnectionFailed(connector, Failure(ConnectionRefusedError()))
    assert classify(Failure(failed(d))).kind is Kind.NOT_SENT


@pytest.mark.parametrize("reply, reason, kind", [
    (b"", ConnectionLost(), Kind.RESET_UNREAD),
    (b"", ConnectionDone(), Kind.BROKEN),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", ConnectionDone(), Kind.BROKEN),
    (b"HTTP/1.1 200 OK\r\nContent-", ConnectionLost(), Kind.BROKEN),
])
def test_the_peer_closes_mid_request(reply: bytes, reason: Exception, kind: Kind) -> None:
    """
    Lost before any byte of the reply reads as the Agent's ResponseNeverReceived; after, as broken.
    """
    net = _Net()
    d = net.request()
    wire = net.accept()
    wire.protocol.dataReceived(reply)
    wire.protocol.connectionLost(Failure(reason))
    assert classify(Failure(failed(d))).kind is kind


def test_a_malformed_reply_is_broken() -> None:
    """
    Bytes that are no HTTP reply fail the request and drop the connection.
    """
    net = _Net()
    d = net.request()
    wire = net.accept()
    wire.protocol.dataReceived(b"SSH-2.0-OpenSSH\r\n\r\n")
    assert classify(Failure(failed(d))).kind is Kind.BROKEN and wire.aborted


def _idle(net: _Net) -> _Transport:
    d = net.request()
    wire = net.accept()
    wire.protocol.dataReceived(OK)
    fired(d)
    return wire


def test_the_server_closes_an_idle_connection() -> None:
    """
    An idle connection the server closed is forgotten; the next request connects anew.
    """
    net = _Net()
    wire = _idle(net)
    wire.protocol.connectionLost(Failure(ConnectionDone()))
    net.request()
    assert len(net.reactor.tcpClients) == 2


def test_a_connection_whose_peer_closed_is_not_lent() -> None:
    """
    An idle connection with an end of file waiting (not yet read by the reactor) is dropped before reuse.
    """
    net = _Net()
    wire = _idle(net)
    wire.socket.peek = b""
    net.request()
    assert wire.aborted and len(net.reactor.tcpClients) == 2


def test_idle_connections_expire() -> None:
    """
    After half the servers' idle timeout an idle connection is closed, never lent out.
    """
    net = _Net()
    wire = _idle(net)
    expiry = net.http._pool.cachedConnectionTimeout  # type: ignore[union-attr]
    net.reactor.advance(expiry - 0.5)
    assert not wire.disconnecting
    net.reactor.advance(0.5)
    assert wire.disconnecting
    net.request()
    assert len(net.reactor.tcpClients) == 2


def test_at_most_so_many_idle_connections_per_peer() -> None:
    """
    Concurrent requests open connections; beyond the most kept idle, the extra ones are closed.
    """
    net = _Net(max_per_host=2)
    calls = [net.request() for _ in range(3)]
    wires = [net.accept() for _ in range(3)]
    for wire in wires:
        wire.protocol.dataReceived(OK)
    assert [fired(d).code for d in calls] == [200] * 3
    assert [wire.disconnecting for wire in wires] == [False, False, True]


def test_stray_bytes_on_an_idle_connection_drop_it() -> None:
    """
    A server that writes when nothing was asked has its connection dropped.
    """
    net = _Net()
    wire = _idle(net)
    wire.protocol.dataReceived(b"HTTP/1.1 200 OK\r\n")
    assert wire.aborted


def test_an_idempotent_request_is_retried_once_on_a_new_connection() -> None:
    """
    A GET lost on a reused connection before its reply goes once more on a new one; a POST does not.
    """
    net = _Net()
    first = _idle(net)
    d = net.request(b"GET", body=None)
    first.protocol.connectionLost(Failure(ConnectionDone()))
    second = net.accept()
    assert second.value().startswith(b"GET /x ")
    second.protocol.dataReceived(OK)
    assert fired(d).code == 200
    d = net.request()
    second.protocol.connectionLost(Failure(ConnectionLost()))
    assert classify(Failure(failed(d))).kind is Kind.RESET_UNREAD and len(net.reactor.tcpClients) == 2


def test_head_replies_have_no_body() -> None:
    """
    The reply to HEAD ends with its head, whatever length it announces.
    """
    net = _Net()
    d = net.request(b"HEAD", body=None)
    net.accept().protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n")
    assert fired(d).body == b""


def test_close_closes_idle_connections() -> None:
    """
    Closing the client closes its idle connections and fires once they are closed.
    """
    net = _Net()
    wire = _idle(net)
    d = net.http.close()
    assert wire.disconnecting and waiting(d)
    net.reactor.advance(0)
    assert fired(d) is None


@pytest.mark.parametrize("url", [b"https://127.0.0.1:1/", b"http://[::1]:1/", b"http://example.com/",
                                 b"http://u@127.0.0.1:1/", b"http://127.0.0.1:1/#x", b"http://127.0.0.1:99999/"])
def test_other_urls_go_to_the_agent(url: bytes) -> None:
    """
    TLS, IPv6, names, user info and fragments are the Agent's.
    """
    assert target(url) is None
    agent = SilentAgent()
    http = HttpClient(MemoryReactorClock(), agent, None, HttpClient.create(MemoryReactorClock())._wire)
    http.request(b"GET", url, headers=[(b"x-a", b"1")])
    assert agent.requests == [url]


def test_the_targets_of_urls() -> None:
    """
    Paths and queries as the Agent sends them; the default port is left out of Host.
    """
    assert target(b"http://10.0.0.1") == (("10.0.0.1", 80), b" / HTTP/1.1\r\nHost: 10.0.0.1\r\n")
    assert target(b"http://10.0.0.1:81?a=1") == (("10.0.0.1", 81), b" /?a=1 HTTP/1.1\r\nHost: 10.0.0.1:81\r\n")
    assert target(b"http://10.0.0.1:81/p/q?a") == (("10.0.0.1", 81), b" /p/q?a HTTP/1.1\r\nHost: 10.0.0.1:81\r\n")
