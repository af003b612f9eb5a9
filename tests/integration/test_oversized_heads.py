"""
A request head over the 16 KiB limit, made of many ordinary headers, gets
a JSON 431 on real sockets: at the registry (commands and route traffic)
and at an instance.  TCP half-closes the connection after the reply, so
the channel must stop parsing what the same read still holds.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.threads import deferToThread

from tests._raw_http import CommandReply, read_reply

pytestmark = pytest.mark.integration

HEADERS = 300
HEADER_BYTES = 70


def _send_big_head(port: int, method: bytes, path: bytes, pieces: int) -> CommandReply:
    """
    Send a request with 300 headers of 70 bytes in C{pieces} writes and read
    the whole reply.
    """
    head = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Content-Length: 0"]
    head.extend(b"X-Filler-%03d: %s" % (n, b"v" * (HEADER_BYTES - 15)) for n in range(HEADERS))
    data = b"\r\n".join(head) + b"\r\n\r\n"
    step = -(-len(data) // pieces)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for start in range(0, len(data), step):
            s.sendall(data[start:start + step])
        return read_reply(s)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("pieces", [1, 7])
@pytest_twisted.ensureDeferred
async def test_many_ordinary_headers_get_a_json_431_everywhere(live: Any, pieces: int) -> None:
    """
    The registry's command endpoint, its route traffic and an instance each
    answer 431 with a JSON body, whether the head comes in one write or several.
    """
    node = live.node()
    instance = await node.create_service(lambda payload: "ok", "small")
    await node.create_route("/api/small", "small")
    targets = [(_port(live.registry.url), b"POST", b"/"), (_port(live.registry.url), b"GET", b"/api/small"),
               (_port(instance.location), b"POST", b"/"), (_port(instance.location), b"GET", b"/api/small")]
    for port, method, path in targets:
        reply = await deferToThread(_send_big_head, port, method, path, pieces)
        assert (reply.status, reply.headers["content-type"], reply.json()) == (
            431, "application/json", {"error": "request line and headers exceed 16384 bytes", "status": 431})
    assert await node.call("small") == "ok"
