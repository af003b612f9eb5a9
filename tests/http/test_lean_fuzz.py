"""
A fuzz of the lean channel's parser: random heads, chunked bodies and
split reads never crash it nor leave it hanging: every request is either
answered, handed to twisted.web, or refused with the connection closed.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micro._http.lean_body import ChunkedBody, parse_head
from tests._lean import chunked, connect, post, replies

_NAMES = st.sampled_from([b"Host", b"Content-Type", b"X-Request-Id", b"traceparent", b"Connection", b"Expect",
                          b"Content-Length", b"Transfer-Encoding", b"X a", b"", b"Bad\x00", b" lead"])
_VALUES = st.sampled_from([b"x", b"close", b"keep-alive", b"100-continue", b"chunked", b"gzip", b"5", b"-1",
                           b"", b"a\rb", b"a\nb", b" spaced ", b"\xff\xfe"])
_LINES = st.one_of(st.tuples(_NAMES, _VALUES).map(lambda nv: nv[0] + b": " + nv[1]),
                   st.binary(max_size=40))
_REQUEST_LINES = st.sampled_from([b"POST /echo HTTP/1.1", b"POST /later HTTP/1.1", b"GET /echo HTTP/1.1",
                                  b"POST /echo HTTP/1.0", b"POST /echo?q HTTP/1.1", b"POST  /echo HTTP/1.1",
                                  b"POST /other HTTP/1.1", b"POST http://x/echo HTTP/1.1", b"\x00\x01", b""])


def _splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return pieces


def _feed(data: bytes, cuts: list[int]) -> tuple[Any, Any, Any]:
    protocol, transport, root = connect()
    for piece in _splits(data, cuts):
        if transport.disconnecting:
            break
        protocol.dataReceived(piece)
    for _, d in root.waiting:
        d.callback(b"late")
    return protocol, transport, root


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINES, max_size=8), _REQUEST_LINES, st.binary(max_size=60), st.lists(st.integers(0, 400), max_size=6))
def test_random_heads_never_crash_or_hang(lines: list[bytes], request_line: bytes, body: bytes,
                                          cuts: list[int]) -> None:
    data = b"\r\n".join([request_line, *lines]) + b"\r\n\r\n" + body
    protocol, transport, root = _feed(data, cuts)
    out = transport.value()
    if protocol.handed_over is not None or transport.disconnecting:
        return  # twisted.web's, or refused and closed
    # Still the lean channel's: it either answered, or waits for more of a body.
    head = parse_head(data.partition(b"\r\n\r\n")[0])
    if head is not None and head.length is not None and head.length <= len(body):
        assert out.startswith(b"HTTP/1.1 ")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=6), st.lists(st.integers(0, 400), max_size=8),
       st.booleans())
def test_chunked_bodies_split_anywhere_arrive_whole(pieces: list[bytes], cuts: list[int], pipelined: bool) -> None:
    data = chunked(b"/echo", pieces) + (post(b"/echo", b"next") if pipelined else b"")
    _, transport, _ = _feed(data, cuts)
    bodies = [b for _, _, b in replies(transport.value())]
    assert bodies == [b"".join(pieces)] + ([b"next"] if pipelined else [])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80), st.lists(st.integers(0, 100), max_size=5))
def test_random_chunked_bytes_decode_or_are_refused(raw: bytes, cuts: list[int]) -> None:
    """
    The decoder fed any bytes, in any pieces, either finishes (taking the
    same bytes), waits, or raises BadBody: the same outcome however the
    bytes are split.
    """
    def outcome(pieces: list[bytes]) -> Any:
        decoder, buffer, taken = ChunkedBody(), b"", 0
        for piece in pieces:
            buffer += piece
            try:
                took = decoder.feed(buffer)
            except Exception as e:
                return type(e).__name__
            buffer, taken = buffer[took:], taken + took
            if decoder.done:
                return (taken, decoder.body())
        return "waiting"
    assert outcome(_splits(raw, cuts)) == outcome([raw])
