"""
A site whose root serves some requests lean, and a reader of replies: for
the tests of L{micro._http.lean}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from micro._http.lean_request import ILeanResource, LeanRequest
from micro._http.site import make_site


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
