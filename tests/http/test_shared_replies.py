"""
A large reply written to many connections is one string, not a copy each.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport

from twisted.web.resource import Resource

from micro._http.shared_replies import RECENT, SHARED_FROM, SharedReplies
from micro._http.site import make_site

BIG = b"x" * (SHARED_FROM * 4)


class Recording(StringTransport):
    """
    A transport that keeps every string written to it, as it was given.
    """

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        super().write(data)

    def writeSequence(self, data: Any) -> None:
        for piece in data:
            self.write(piece)


class Body(Resource):
    """
    The same body for every request; chunked (no length) for /chunked.
    """

    isLeaf = True

    def __init__(self, body: bytes):
        super().__init__()
        self.body = body

    def render(self, request: Any) -> int:
        if request.path != b"/chunked":
            request.setHeader(b"content-length", b"%d" % len(self.body))
        request.write(self.body)
        request.finish()
        return 1  # NOT_DONE_YET: the body is written already


def _get(site: Any, method: bytes = b"GET", path: bytes = b"/") -> Recording:
    transport = Recording()
    protocol = site.buildProtocol(None)
    protocol.makeConnection(transport)
    protocol.dataReceived(b"%s %s HTTP/1.1\r\nHost: x\r\n\r\n" % (method, path))
    return transport


def test_the_same_head_and_body_are_joined_once() -> None:
    replies = SharedReplies()
    body = b"b" * 10
    first = replies.joined(b"head1", body)
    assert first == b"head1" + body
    assert replies.joined(b"head1", body) is first
    assert replies.joined(b"head2", body) == b"head2" + body
    assert replies.joined(b"head2", body) is not first


def test_only_the_recent_replies_are_kept() -> None:
    replies = SharedReplies()
    bodies = [bytes([65 + i]) * 4 for i in range(RECENT * 3)]  # kept alive: ids stay distinct
    for body in bodies:
        replies.joined(b"h", body)
    assert len(replies) == RECENT


def test_connections_sending_the_same_large_body_are_given_one_string() -> None:
    """
    Twisted would join each connection's head and body into a copy of its
    own; here every connection is written the same object, head included.
    """
    site = make_site(Body(BIG), Clock())
    first, second = _get(site), _get(site)
    assert first.writes[0] is second.writes[0]
    head, _, body = first.value().partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: %d" % len(BIG) in head.lower()
    assert body == BIG


def test_a_small_body_is_written_as_twisted_writes_it() -> None:
    site = make_site(Body(b"small"), Clock())
    transport = _get(site)
    assert transport.writes[-1] == b"small" and transport.value().endswith(b"\r\n\r\nsmall")


def test_a_head_request_gets_the_head_alone() -> None:
    site = make_site(Body(BIG), Clock())
    raw = _get(site, b"HEAD").value()
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and raw.endswith(b"\r\n\r\n")


def test_a_chunked_body_follows_its_head() -> None:
    site = make_site(Body(BIG), Clock())
    raw = _get(site, path=b"/chunked").value()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert body == b"%x\r\n%s\r\n0\r\n\r\n" % (len(BIG), BIG)


def test_lean_connections_sending_the_same_large_body_are_given_one_string() -> None:
    """
    The lean channel (registry commands such as watches, instance calls)
    shares a large reply as twisted.web's requests do, and leaves it to the
    transport whole rather than sending part of it at once.
    """
    from tests._lean import Root

    class Big(Root):
        def echo(self, request: Any) -> bytes:
            request.setHeader(b"content-type", b"application/json")
            return BIG

    site = make_site(Big(), MemoryReactorClock())
    writes = []
    for _ in range(2):
        transport = Recording()
        protocol = site.buildProtocol(None)
        protocol.makeConnection(transport)
        protocol.dataReceived(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        writes.append(transport.writes[-1])
    assert writes[0] is writes[1]
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == BIG
