"""
Oversized request heads get a 431 with a JSON body.
"""

from __future__ import annotations

import json

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from micro._http.site import make_site
from micro._registry.stack import RegistryStack


def _exchange(data: bytes) -> bytes:
    stack = RegistryStack.build(Clock(), verify_locations=False)
    site = make_site(stack.resource, Clock())
    protocol = site.buildProtocol(None)
    transport = StringTransport()
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
