"""
Oversized request heads get a 431 with a JSON body.
"""

from __future__ import annotations

import json

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from micro._http.site import make_site
from micro._registry.stack import RegistryStack


class TcpLikeTransport(StringTransport):
    """
    A transport that half-closes as TCP does: closing our side for writing
    leaves C{disconnecting} false, so the channel keeps parsing what is
    already buffered (StringTransport's loseConnection would stop it).
    """

    write_closed = False

    def loseWriteConnection(self) -> None:
        self.write_closed = True


def _exchange(data: bytes, transport: StringTransport | None = None) -> bytes:
    stack = RegistryStack.build(Clock(), verify_locations=False)
    site = make_site(stack.resource, Clock())
    protocol = site.buildProtocol(None)
    transport = transport or StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(data)
    return transport.value()


def _status_and_body(raw: bytes) -> tuple[int, dict]:  # type: ignore[type-arg]
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_one_huge_header_line_is_431() -> None:
    """
    A header line longer than the limit is refused with a 431 JSON error.
    """
    status, body = _status_and_body(_exchange(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"))
    assert status == 431 and body == {"error": "request line and headers exceed 16384 bytes", "status": 431}


def test_many_headers_adding_up_is_431() -> None:
    """
    Headers that add up past the limit are refused the same way.
    """
    headers = b"".join(b"X-%d: %s\r\n" % (n, b"b" * 100) for n in range(200))
    status, body = _status_and_body(_exchange(b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"))
    assert status == 431 and body["status"] == 431


def test_headers_under_the_limit_pass() -> None:
    """
    A request with a large but acceptable head is served normally.
    """
    raw = _exchange(b"POST / HTTP/1.1\r\nHost: x\r\nX-Ok: " + b"c" * 15000 + b"\r\nContent-Length: 15\r\n\r\n"
                    b'{"health":true}')
    assert raw.startswith(b"HTTP/1.1 200 OK")


def _many_ordinary_headers(count: int = 300, size: int = 70) -> bytes:
    return b"".join(b"X-H%03d: %s\r\n" % (n, b"v" * (size - 8)) for n in range(count))


def test_many_ordinary_headers_over_a_half_closing_transport_are_431() -> None:
    """
    300 headers of 70 bytes (21 KB, each line short): the 431 is written and
    the connection half-closed, and the bytes that follow in the same read
    are thrown away rather than parsed as a body that does not exist.
    """
    transport = TcpLikeTransport()
    raw = _exchange(b"GET /api/x HTTP/1.1\r\nHost: x\r\n" + _many_ordinary_headers() + b"\r\n", transport)
    status, body = _status_and_body(raw)
    assert status == 431 and body == {"error": "request line and headers exceed 16384 bytes", "status": 431}
    assert transport.write_closed and not transport.disconnecting


def test_too_many_small_headers_are_431() -> None:
    """
    More header fields than the channel takes (short ones, well under the
    byte limit) get the same JSON 431, not Twisted's bare 400.
    """
    transport = TcpLikeTransport()
    headers = b"".join(b"X-%d: 1\r\n" % n for n in range(600))
    raw = _exchange(b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n", transport)
    status, body = _status_and_body(raw)
    assert status == 431 and body == {"error": "more than 500 header fields", "status": 431}
