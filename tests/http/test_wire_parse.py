"""
The lean client's response parser: framing by length, chunks and close,
interim replies, limits and malformed heads; and a fuzz of random heads
and chunked bodies fed whole, split at every byte, and byte by byte.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro._http.response import FullResponse
from micro._http.wire_parse import MAX_HEAD, ParseError, ResponseParser, TooLarge


def _parse(data: bytes, limit: int | None = None, head: bool = False) -> tuple[ResponseParser, FullResponse | None]:
    parser = ResponseParser(limit, head)
    return parser, parser.feed(data)


def test_a_reply_with_a_length() -> None:
    """
    Status, headers (names lower-cased, in order) and exactly Content-Length bytes of body.
    """
    parser, reply = _parse(b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                           b"X-A: 1\r\nX-A: 2\r\n\r\nhello")
    assert reply is not None
    assert (reply.code, reply.body) == (201, b"hello")
    assert reply.header(b"Content-Type") == b"text/plain" and reply.header(b"x-a") == b"2"
    assert reply.headers.getRawHeaders(b"x-a") == [b"1", b"2"]
    assert parser.keep_alive and parser.leftover == b""


def test_a_chunked_reply_with_extensions_and_trailers() -> None:
    """
    Chunks are joined, chunk extensions and trailers skipped.
    """
    parser, reply = _parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nX-Trailer: t\r\n\r\n")
    assert reply is not None and reply.body == b"hello!" and parser.keep_alive


def test_a_reply_ended_by_close() -> None:
    """
    Without a length or chunks the body runs to the end of the connection, which is then not reused.
    """
    parser, reply = _parse(b"HTTP/1.1 200 OK\r\n\r\nsome")
    assert reply is None and parser.feed(b" more") is None
    reply = parser.finish()
    assert reply is not None and reply.body == b"some more" and not parser.keep_alive


def test_interim_replies_are_skipped() -> None:
    """
    100 Continue and 103 Early Hints come before the real reply.
    """
    _, reply = _parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
                      b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert reply is not None and (reply.code, reply.body, reply.header(b"link")) == (200, b"ok", None)


@pytest.mark.parametrize("head, code", [(True, 200), (False, 204), (False, 304)])
def test_replies_without_a_body(head: bool, code: int) -> None:
    """
    A reply to HEAD, a 204 and a 304 end with their heads, whatever length they announce.
    """
    parser, reply = _parse(b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % code, head=head)
    assert reply is not None and reply.body == b"" and parser.keep_alive


@pytest.mark.parametrize("head, keep", [
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
    (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", True),
])
def test_connection_persistence(head: bytes, keep: bool) -> None:
    """
    HTTP/1.1 persists unless told to close; HTTP/1.0 only if told to keep alive.
    """
    parser, reply = _parse(head)
    assert reply is not None and parser.keep_alive is keep


def test_bytes_after_the_reply_spoil_the_connection() -> None:
    """
    Bytes after a whole reply (nothing was asked) mean the connection is not reused.
    """
    parser, reply = _parse(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP")
    assert reply is not None and reply.body == b"x" and not parser.keep_alive and parser.leftover == b"HTTP"


def test_bare_line_feeds() -> None:
    """
    A head with bare LF line ends is read as Twisted's parser reads it.
    """
    _, reply = _parse(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
    assert reply is not None and reply.body == b"ok"


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 11,
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nxxxxxx\r\n6\r\n",
])
def test_a_body_over_the_limit(data: bytes) -> None:
    """
    A body longer than the limit fails as soon as that is known.
    """
    with pytest.raises(TooLarge):
        _parse(data, limit=10)


@pytest.mark.parametrize("data", [
    b"HTTP/2 200 OK\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n", b"HTTP/1.1 099 X\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", b"HTTP/1.1 101 Switching\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n",
    b"HTTP/1.1 200 OK\r\nX: " + b"y" * MAX_HEAD + b"\r\n\r\n",
])
def test_malformed_replies(data: bytes) -> None:
    """
    What is not an HTTP/1.1 reply fails to parse.
    """
    with pytest.raises(ParseError):
        _parse(data)


def test_a_long_head_fails_before_it_ends() -> None:
    """
    A head that never ends fails once it is longer than the most kept.
    """
    parser = ResponseParser()
    with pytest.raises(ParseError):
        for _ in range(MAX_HEAD // 1000 + 2):
            parser.feed(b"X" * 1000)


_names = st.sampled_from([b"Content-Type", b"X-A", b"content-length", b"Transfer-Encoding", b"Connection",
                          b"Bad Name", b""])
_values = st.one_of(st.sampled_from([b"chunked", b"close", b"5", b"0", b"identity, chunked", b"-3", b"zz"]),
                    st.binary(max_size=12))
_heads = st.tuples(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"XX"]),
                   st.sampled_from([b"200", b"100", b"204", b"101", b"404", b"99", b"abc"]),
                   st.lists(st.tuples(_names, _values), max_size=5))
_chunked = st.lists(st.binary(max_size=20), max_size=4).map(
    lambda chunks: b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n")


def _reply(head: tuple[bytes, bytes, list[tuple[bytes, bytes]]], body: bytes) -> bytes:
    version, code, headers = head
    return (version + b" " + code + b" X\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in headers)
            + b"\r\n" + body)


def _outcome(pieces: list[bytes], limit: int | None) -> tuple[str, object]:
    parser = ResponseParser(limit)
    replies = []
    try:
        for piece in pieces:
            reply = parser.feed(piece)
            if reply is not None:
                replies.append(reply)
        if not replies:
            reply = parser.finish()
            if reply is not None:
                return "closed", (reply.code, reply.body)
    except (ParseError, TooLarge) as e:
        return "error", type(e)
    if not replies:
        return "incomplete", None
    [reply] = replies
    return "reply", (reply.code, reply.body, list(reply.headers.getAllRawHeaders()), parser.keep_alive)


@settings(max_examples=300, deadline=None)
@given(_heads, st.one_of(_chunked, st.binary(max_size=40)), st.sampled_from([None, 8, 1000]))
def test_fuzz_any_split_gives_the_same_outcome(head: tuple[bytes, bytes, list[tuple[bytes, bytes]]],
                                                body: bytes, limit: int | None) -> None:
    """
    Random heads and (chunked) bodies end in a reply, an incomplete reply or
    one of the parser's errors, never another exception or a hang, and the
    same whether fed whole, split at any byte, or a byte at a time.
    """
    data = _reply(head, body)
    whole = _outcome([data], limit)
    for cut in range(len(data) + 1):
        assert _outcome([data[:cut], data[cut:]], limit) == whole
    assert _outcome([data[i:i + 1] for i in range(len(data))], limit) == whole


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data: bytes) -> None:
    """
    Arbitrary bytes never raise anything but the parser's own errors.
    """
    _outcome([data], None)
    _outcome([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + data], 50)


class _Sink:
    """Keeps what a streaming parser hands over."""

    def __init__(self) -> None:
        self.heads: list[tuple[int, bytes]] = []
        self.pieces: list[bytes] = []

    def head(self, code: int, phrase: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.heads.append((code, phrase))

    def append(self, piece: bytes) -> None:
        self.pieces.append(piece)

    def flush(self, source: object) -> None:
        pass


def _streamed(pieces: list[bytes]) -> tuple[str, object]:
    sink = _Sink()
    parser = ResponseParser(None, sink=sink)
    outcome: tuple[str, object] = ("incomplete", None)
    try:
        for piece in pieces:
            reply = parser.feed(piece)
            if reply is not None:
                assert reply.body == b""  # the sink has it
                outcome = ("reply", reply.code)
        if outcome[0] == "incomplete":
            reply = parser.finish()
            if reply is not None:
                outcome = ("closed", reply.code)
    except ParseError as e:
        return "error", type(e)
    assert len(sink.heads) <= 1 and (not sink.pieces or sink.heads)
    if outcome[0] == "incomplete":
        return outcome
    return outcome[0], (outcome[1], b"".join(sink.pieces))


@settings(max_examples=300, deadline=None)
@given(_heads, st.one_of(_chunked, st.binary(max_size=40)))
def test_fuzz_a_streaming_parser_hands_on_the_same_body(head: tuple[bytes, bytes, list[tuple[bytes, bytes]]],
                                                        body: bytes) -> None:
    """
    With a sink, the parser keeps no body but hands it over piece by piece:
    the pieces make the body the whole-reply parser gives, the head comes
    once and before them, whether fed whole or split at any byte.
    """
    data = _reply(head, body)
    kind, detail = _outcome([data], None)
    expected = (kind, None if kind == "incomplete" else ((detail[0], detail[1]) if kind != "error" else detail))
    streamed = _streamed([data])
    assert streamed == (expected if kind != "error" else ("error", detail))
    for cut in range(len(data) + 1):
        assert _streamed([data[:cut], data[cut:]]) == streamed
    assert _streamed([data[i:i + 1] for i in range(len(data))]) == streamed
