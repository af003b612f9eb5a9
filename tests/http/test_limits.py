"""
Bodies over their limit get a 413 with a JSON body, before they are read
into memory; idle clients are dropped.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from micro._http.lean import LeanChannel
from micro._http.limits import BodyLimits
from micro._twistd.options import byte_count
from micro._http.site import make_site
from micro._kernel.protocol import IDLE_TIMEOUT
from micro._node.handler import ServiceHandler
from micro._node.instance import ServiceInstance
from micro._node.instance_resource import InstanceResource
from micro._registry.stack import RegistryStack
from micro.testing import MemoryCluster


class HalfClosingTransport(StringTransport):
    """
    A transport that records a half-close, as TCP allows.
    """

    write_closed = False

    def loseWriteConnection(self) -> None:
        self.write_closed = True


def _connect(resource: Any, clock: Clock | None = None) -> tuple[Any, HalfClosingTransport]:
    site = make_site(resource, clock or Clock())
    protocol = site.buildProtocol(None)
    transport = HalfClosingTransport()
    protocol.makeConnection(transport)
    return protocol, transport


def _reply(transport: StringTransport) -> tuple[int, Any]:
    head, _, body = transport.value().partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return int(head.split(b" ")[1]), json.loads(body)


def _registry(limits: BodyLimits) -> Any:
    return RegistryStack.build(Clock(), verify_locations=False, limits=limits).resource


def _post(path: bytes, body: bytes, *headers: bytes) -> bytes:
    lines = [b"POST " + path + b" HTTP/1.1", b"Host: x", b"Content-Length: %d" % len(body), *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def test_declared_length_over_the_limit_is_refused_before_the_body() -> None:
    """
    A Content-Length over the limit gets a 413 at once; the connection is
    half-closed and the rest of the body is read and thrown away.
    """
    protocol, transport = _connect(_registry(BodyLimits(command=100, call=1000)))
    protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
    status, body = _reply(transport)
    assert status == 413 and body == {"error": "request body larger than the limit of 1000 bytes", "status": 413}
    assert transport.write_closed
    protocol.dataReceived(b"x" * 5000)
    assert transport.value().count(b"HTTP/1.1") == 1


def test_chunked_body_over_the_limit_is_refused_midway() -> None:
    """
    A chunked body is counted as it comes and refused once past the limit.
    """
    protocol, transport = _connect(_registry(BodyLimits(command=100, call=1000)))
    protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(3):
        protocol.dataReceived(b"190\r\n" + b"a" * 400 + b"\r\n")
    status, _ = _reply(transport)
    assert status == 413


def test_commands_other_than_call_have_the_smaller_limit() -> None:
    """
    A large call passes the command limit (and fails for its own reason);
    any other command that large is a 413.
    """
    big = "x" * 300
    protocol, transport = _connect(_registry(BodyLimits(command=100, call=1000)))
    protocol.dataReceived(_post(b"/", json.dumps({"call": {"service": "ghost", "payload": big}}).encode()))
    assert _reply(transport)[0] == 404
    protocol, transport = _connect(_registry(BodyLimits(command=100, call=1000)))
    protocol.dataReceived(_post(b"/", json.dumps({"lookup": big}).encode()))
    status, body = _reply(transport)
    assert status == 413 and "at most 100 bytes" in body["error"]


def test_route_traffic_is_not_limited_by_default() -> None:
    """
    Route traffic has no limit unless one is set.
    """
    protocol, transport = _connect(_registry(BodyLimits(command=10, call=10)))
    protocol.dataReceived(_post(b"/api/upload", b"y" * 5000))
    assert _reply(transport)[0] == 404
    protocol, transport = _connect(_registry(BodyLimits(command=10, call=10, route=100)))
    protocol.dataReceived(_post(b"/api/upload", b"y" * 5000))
    assert _reply(transport)[0] == 413


def _instance(limit: int) -> InstanceResource:
    node = MemoryCluster().node()
    node.max_payload_bytes = limit
    instance = ServiceInstance(ServiceHandler.wrap(lambda payload: len(payload), "size"), "http://n.test:1", node)
    return InstanceResource(instance, node.operations)


def test_instance_caps_call_payloads_but_not_routes() -> None:
    """
    A call payload over the node's limit is a 413; one under it is served;
    route traffic to the instance is not capped.
    """
    protocol, transport = _connect(_instance(1000))
    protocol.dataReceived(_post(b"/", json.dumps("z" * 2000).encode(), b"Content-Type: application/json"))
    assert _reply(transport)[0] == 413
    protocol, transport = _connect(_instance(1000))
    protocol.dataReceived(_post(b"/", json.dumps("z" * 900).encode(), b"Content-Type: application/json"))
    assert _reply(transport) == (200, 900)
    protocol, transport = _connect(_instance(1000))
    protocol.dataReceived(_post(b"/_micro/deliver", b"q" * 2000))
    assert _reply(transport)[0] == 413


def test_a_client_that_sends_nothing_is_dropped() -> None:
    """
    A connection that stays silent is closed after the idle timeout.
    """
    clock = Clock()
    protocol, transport = _connect(_registry(BodyLimits()), clock)
    clock.advance(IDLE_TIMEOUT - 1)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting


@pytest.mark.parametrize("text, count", [("512", 512), ("4K", 4096), ("16m", 16 * 1024 * 1024), ("1G", 1 << 30)])
def test_byte_counts_take_suffixes(text: str, count: int) -> None:
    """
    Command-line byte counts accept K, M and G.
    """
    assert byte_count(text) == count


@pytest.mark.parametrize("text", ["0", "-5", "lots", "5T"])
def test_bad_byte_counts_are_refused(text: str) -> None:
    """
    Zero, negative or unreadable counts are errors.
    """
    with pytest.raises(ValueError):
        byte_count(text)


def _buffered(protocol: Any) -> int:
    """
    How many body bytes the connection's request holds (in memory or in
    the temporary file Twisted uses for large bodies; a lean channel's
    count, if a lean channel reads it).
    """
    if isinstance(protocol, LeanChannel):
        return protocol.buffered()
    content = protocol._channel.requests[-1].content
    position = content.tell()
    content.seek(0, 2)
    size: int = content.tell()
    content.seek(position)
    return size


LARGE = 15 * 1024 * 1024
PIECE = 64 * 1024


def test_a_large_command_other_than_call_is_refused_at_its_first_bytes() -> None:
    """
    A 15 MiB lookup (between the 1 MiB command limit and the 16 MiB call
    limit) is refused as soon as its first bytes show it is not a call: none
    of it is buffered, and the rest is read and thrown away.
    """
    protocol, transport = _connect(_registry(BodyLimits()))
    protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % LARGE)
    protocol.dataReceived(b'{"lookup": "' + b"x" * (PIECE - 12))
    status, body = _reply(transport)
    assert status == 413 and body == {
        "error": f"a registry command may have at most 1048576 bytes; this one has {LARGE}", "status": 413}
    for _ in range(LARGE // PIECE - 1):
        protocol.dataReceived(b"x" * PIECE)
    assert _buffered(protocol) == 0 and transport.value().count(b"HTTP/1.1") == 1


def test_a_chunked_command_is_refused_once_it_streams_past_the_command_limit() -> None:
    """
    Without a declared length, a command other than call is counted as it
    comes and refused right after the command limit, holding at most that.
    """
    protocol, transport = _connect(_registry(BodyLimits(command=100 * 1024)))
    protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    first = b'{"register": {"service": "' + b"s" * (PIECE - 26)
    protocol.dataReceived(b"%x\r\n%s\r\n" % (len(first), first))
    assert transport.value() == b"" and _buffered(protocol) == PIECE
    protocol.dataReceived(b"%x\r\n%s\r\n" % (PIECE, b"s" * PIECE))
    status, body = _reply(transport)
    assert status == 413 and body["error"] == "a registry command may have at most 102400 bytes; this one has more"
    assert _buffered(protocol) == 0


def test_a_large_call_is_taken_up_to_the_call_limit() -> None:
    """
    A call between the two limits is read and run (here: a 404 for the
    unknown service), its first key found past leading spaces; one over the
    call limit is refused by its declared length.
    """
    body = b' \n{ "call" : {"service": "ghost", "payload": "' + b"p" * (2 * 1024 * 1024) + b'"}}'
    protocol, transport = _connect(_registry(BodyLimits()))
    protocol.dataReceived(_post(b"/", body))
    assert _reply(transport)[0] == 404
    protocol, transport = _connect(_registry(BodyLimits()))
    protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (17 * 1024 * 1024))
    assert _reply(transport) == (413, {"error": "request body larger than the limit of 16777216 bytes", "status": 413})


def test_a_body_that_never_shows_a_first_key_gets_the_command_limit() -> None:
    """
    A body that does not open with a JSON object key within its first bytes
    is held to the command limit.
    """
    protocol, transport = _connect(_registry(BodyLimits(command=1000, call=100_000)))
    protocol.dataReceived(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n")
    protocol.dataReceived(b"[" + b" " * 299)
    assert _reply(transport)[0] == 413
