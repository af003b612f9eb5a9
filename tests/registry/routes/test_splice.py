"""
Route requests served lean, in memory: which requests the lean channel
takes, the heads it sends on, and one request's life with a scripted lean
client (the reply in pieces, the client's connection full, failover, the
timeout).  On real sockets: tests/integration/test_route_splice.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectError
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.internet.testing import StringTransport

from micro._calls.balancer import RoundRobin
from micro._http.lean_request import LeanRequest
from micro._http.limits import BodyLimits
from micro._http.response import FullResponse
from micro._http.wire_client import WirePool
from micro._http.wire_requests import WireClient
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import TOKEN_HEADER
from micro._registry.endpoint import RegistryResource
from micro._registry.routes.exchange import Upstream
from micro._registry.routes.heads import forwarded_headers, reply_head
from micro._registry.routes.proxy import RouteProxy
from micro._registry.routes.splice import WHOLE_BODY, RouteSplice
from micro._registry.routes.table import RouteEntry, RouteTable

INSTANCE = "http://127.0.0.1:9001"


class _Http:
    def __init__(self, wire: Any):
        self.wire = wire


def _proxy(locations: list[str], wire: Any = None) -> RouteProxy:
    clock = Clock()
    table = RouteTable()
    table.add("/api/*", "api")
    wire = wire if wire is not None else WireClient(WirePool(clock, 8, 30, 5))
    upstream = Upstream(_Http(wire), RoundRobin(clock), lambda service: list(locations), clock, 5.0)  # type: ignore[arg-type]
    return RouteProxy(table, upstream)


@pytest.mark.parametrize("method, target, headers, lean", [
    (b"GET", b"/api/x", {}, True),
    (b"GET", b"/api/x?q=1", {}, True),
    (b"POST", b"/api/x", {b"content-length": b"%d" % WHOLE_BODY}, True),
    (b"POST", b"/api/x", {b"content-length": b"%d" % (WHOLE_BODY + 1)}, False),
    (b"POST", b"/api/x", {b"transfer-encoding": b"chunked"}, False),
    (b"GET", b"/elsewhere", {}, False),
    (b"GET", b"/api/\xc3\xa9", {}, False),
])
def test_which_route_requests_go_lean(method: bytes, target: bytes, headers: dict[bytes, bytes], lean: bool) -> None:
    """
    A body of known length up to WHOLE_BODY on a route that matches goes
    lean; chunked or larger bodies, no route, and targets that need
    percent-encoding are left to twisted.web.
    """
    assert (_proxy([INSTANCE]).lean_handler(method, target, headers) is not None) is lean


@pytest.mark.parametrize("locations", [[], ["https://127.0.0.1:9001"], ["http://instance.example:80"],
                                       ["http://127.0.0.1:9001/base"], ["http://127.0.0.1:9001/"]])
def test_no_instance_or_one_the_lean_client_does_not_reach_is_left_to_twisted_web(locations: list[str]) -> None:
    assert _proxy(locations).lean_handler(b"GET", b"/api/x", {}) is None


def test_the_registry_serves_commands_and_routes_lean_but_not_its_own_pages() -> None:
    proxy = _proxy([INSTANCE])
    commands = Resource()
    root = RegistryResource(commands, proxy, BodyLimits(route=1234), framework=Resource())
    assert root.lean_handler(b"POST", b"/", {})[0] == commands.render  # type: ignore[index]
    handler, limit = root.lean_handler(b"GET", b"/api/x", {})  # type: ignore[misc]
    assert limit == 1234 and handler.__self__.__class__ is RouteSplice
    assert root.lean_handler(b"POST", b"/?x=1", {}) is None
    assert root.lean_handler(b"GET", b"/_micro/health", {}) is None
    assert root.lean_handler(b"GET", b"/_micro/health?x", {}) is None


def test_forwarded_headers_follow_the_proxy_rules() -> None:
    propagation = Propagation.from_headers(lambda name: None)
    sent = forwarded_headers(
        [(b"Host", b"front"), (b"Connection", b"x-gone"), (b"X-Gone", b"1"), (b"TE", b"trailers"),
         (b"X-Forwarded-For", b"10.0.0.1"), (TOKEN_HEADER.title(), b"s"), (b"Accept", b"*/*")],
        b"x-gone", "127.0.0.9", "application/json", propagation, True)
    names = dict(sent)
    assert names[b"Accept"] == b"*/*" and names[b"x-forwarded-for"] == b"10.0.0.1, 127.0.0.9"
    assert names[b"x-forwarded-host"] == b"front" and names[b"x-forwarded-proto"] == b"https"
    assert names[b"x-micro-route"] == b"application/json"
    assert names[b"x-request-id"] == propagation.request_id.encode()
    assert not {b"Host", b"Connection", b"X-Gone", b"TE", TOKEN_HEADER.title(), b"X-Forwarded-For"} & set(names)


def test_reply_heads() -> None:
    """
    A known length passes; none (or a chunked body) is chunked to the
    client; a HEAD reply keeps its length unchunked; the instance's phrase
    and request id pass; hop-by-hop headers do not.
    """
    head, chunked = reply_head(200, b"OK", [(b"content-length", b"2"), (b"connection", b"x-a"), (b"x-a", b"1"),
                                            (b"date", b"D")], b"rid", False, False)
    assert not chunked and head == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\nx-request-id: rid\r\n\r\n"
    head, chunked = reply_head(201, b"Made", [(b"transfer-encoding", b"chunked"), (b"content-length", b"9"),
                                              (b"x-request-id", b"theirs")], b"rid", False, True)
    assert chunked and head.startswith(b"HTTP/1.1 201 Made\r\nx-request-id: theirs\r\ndate: ")
    assert head.endswith(b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n") and b"content-length" not in head
    head, chunked = reply_head(200, b"OK", [(b"content-length", b"5")], b"rid", True, False)
    assert not chunked and b"content-length: 5\r\n" in head
    assert reply_head(204, b"No Content", [], b"rid", False, False)[1] is False
    assert reply_head(200, b"OK", [], b"rid", False, False)[1] is True


class _Channel:
    """Where a LeanRequest's reply goes, and its connection."""

    def __init__(self) -> None:
        self.transport = StringTransport()
        self.parts: list[bytes] = []
        self.replies: list[bytes] = []
        self.shared_replies = None

    def send_part(self, request: LeanRequest, data: bytes) -> None:
        self.parts.append(data)

    def reply(self, request: LeanRequest, data: bytes) -> None:
        self.replies.append(data)


class _Wire:
    """A lean client whose replies the test gives."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes, Any]] = []
        self.pending: list[Deferred[FullResponse]] = []

    def takes(self, location: bytes) -> bool:
        return True

    def stream(self, method: bytes, location: bytes, target: bytes, body: bytes | None, headers: Any,
               sink: Any) -> Deferred[FullResponse]:
        self.sent.append((location + target, body or b"", sink))
        d: Deferred[FullResponse] = Deferred()
        self.pending.append(d)
        return d


class _Observer:
    """Watches each route request until its reply is finished, as micro's observer does."""

    def __init__(self) -> None:
        self.ended: list[int] = []

    def routing(self, request: Any, method: bytes, route: Any, service: Any, propagation: Propagation) -> Any:
        request.notifyFinish().addBoth(lambda _: self.ended.append(request.code))
        return type("Watch", (), {"propagation": None})()


def _serve(locations: list[str], method: bytes = b"GET",
           observer: Any = None) -> tuple[RouteProxy, _Wire, _Channel, LeanRequest]:
    wire = _Wire()
    proxy = _proxy(locations, wire)
    proxy.observer = observer
    channel = _Channel()
    request = LeanRequest(channel, method, b"/api/x", {}, [], b"", False)
    handler = proxy.lean_handler(method, b"/api/x", {})
    assert handler is not None
    handler(request)
    return proxy, wire, channel, request


def test_a_reply_in_pieces_pauses_the_instance_while_the_client_is_full() -> None:
    _, wire, channel, request = _serve([INSTANCE])
    splice = wire.sent[0][2]
    source = StringTransport()
    splice.head(200, b"OK", [(b"transfer-encoding", b"chunked")])
    splice.append(b"abc")
    splice.flush(source)
    assert channel.parts[0].startswith(b"HTTP/1.1 200 OK\r\n") and channel.parts[0].endswith(b"\r\n\r\n3\r\nabc\r\n")
    producer = channel.transport.producer
    assert producer is not None
    producer.pauseProducing()
    assert source.producerState == "paused"
    splice.append(b"defg")
    wire.pending[0].callback(FullResponse(200, [], b""))
    assert channel.replies == [b"4\r\ndefg\r\n0\r\n\r\n"]
    assert channel.transport.producer is None and source.producerState == "producing"
    assert request.code == 200 and request.finished


def test_an_unreachable_instance_is_skipped_then_a_timeout_is_a_504() -> None:
    proxy, wire, channel, request = _serve([INSTANCE, "http://127.0.0.1:9002"], b"POST")
    wire.pending[0].errback(Failure(ConnectError("refused")))
    assert [url for url, _, _ in wire.sent] == [INSTANCE.encode() + b"/api/x", b"http://127.0.0.1:9002/api/x"]
    clock = proxy._upstream.clock
    clock.advance(5.0)
    assert wire.pending[1].called  # cancelled
    reply = channel.replies[0]
    assert reply.startswith(b"HTTP/1.1 504 ") and b"x-request-id: " in reply
    assert "no reply from http://127.0.0.1:9002 within 5s" in json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"]


@pytest.mark.parametrize("observed", [False, True])
def test_a_client_that_leaves_cancels_the_request(observed: bool) -> None:
    """
    The client's connection ends before the reply: the request to the
    instance is cancelled, with or without an observer watching the reply.
    """
    observer = _Observer() if observed else None
    _, wire, channel, request = _serve([INSTANCE], observer=observer)
    request.lost(Failure(ConnectionError("gone")))
    assert wire.pending[0].called and channel.replies == []
    assert observer is None or observer.ended == [200]
