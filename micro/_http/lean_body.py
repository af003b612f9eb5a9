# -*- test-case-name: tests.http.test_lean -*-
"""
Reading a request head and body for L{micro._http.lean.LeanChannel}: the
head split into its parts (or C{None}, for anything a lean channel leaves
to C{twisted.web}), and a chunked body decoded as it arrives.
"""

from __future__ import annotations

import re

from attrs import define, field

# Twisted's own cap on header fields (HTTPChannel.maxHeaders).
MAX_HEADERS = 500
# The longest chunk-size line (with extensions), and all trailers together.
MAX_CHUNK_LINE = 1024
MAX_TRAILERS = 16 * 1024
_HEX = frozenset(b"0123456789abcdefABCDEF")


class BadBody(Exception):
    """
    A chunked body that does not follow the rules: answered 400, and the
    connection closed.
    """


# A header line (after the CRLF that ends the line before): a token, a
# colon, and the value up to the end of the line.
_HEADER = re.compile(rb"\r\n([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*)")
_FRAMING = (b"content-length", b"transfer-encoding", b"host")


class Head:
    """
    A request head a lean channel understands: HTTP/1.1, an origin-form
    target (its handler sees the query, if any), no repeated or conflicting
    framing headers.

    @ivar headers: By lower-case name (the last of a repeated one).
    @ivar raw: Every header's name and value, in order.
    @ivar length: The body's length, or C{None} when it comes chunked.
    """

    __slots__ = ("method", "target", "headers", "raw", "length", "close", "expect_continue")

    def __init__(self, method: bytes, target: bytes, headers: dict[bytes, bytes], raw: list[tuple[bytes, bytes]],
                 length: int | None, close: bool, expect_continue: bool):
        self.method = method
        self.target = target
        self.headers = headers
        self.raw = raw
        self.length = length
        self.close = close
        self.expect_continue = expect_continue


def parse_head(head: bytes) -> Head | None:
    """
    The parts of C{head} (the bytes before its blank line), or C{None} if a
    lean channel should leave this request to C{twisted.web}.
    """
    eol = head.find(b"\r\n")
    parts = (head if eol < 0 else head[:eol]).split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1":
        return None
    method, target = parts[0], parts[1]
    if not target.startswith(b"/") or b"#" in target or not method.isalpha():
        return None
    fields = head[eol:] if eol >= 0 else b""
    raw = [(name, value.rstrip(b" \t")) for name, value in _HEADER.findall(fields)]
    # Every line a header (none folded, none without a colon), no bare CR or LF.
    lines = len(raw)
    if lines > MAX_HEADERS or fields.count(b"\n") != lines or fields.count(b"\r") != lines:
        return None
    headers = {name.lower(): value for name, value in raw}
    if len(headers) < lines:
        seen = set()
        for name, _ in raw:
            lower = name.lower()
            if lower in seen and lower in _FRAMING:
                return None
            seen.add(lower)
    length: int | None = 0
    encoding = headers.get(b"transfer-encoding")
    declared = headers.get(b"content-length")
    if encoding is not None:
        if declared is not None or encoding.lower() != b"chunked":
            return None
        length = None
    elif declared is not None:
        if not declared.isdigit() or len(declared) > 18:
            return None
        length = int(declared)
    connection = headers.get(b"connection")
    close = False
    if connection is not None:
        tokens = connection.lower().replace(b",", b" ").split()
        if b"upgrade" in tokens:
            return None
        close = b"close" in tokens
    expect = headers.get(b"expect")
    if expect is not None and expect.lower() != b"100-continue":
        return None
    return Head(method, target, headers, raw, length, close, expect is not None)


@define
class ChunkedBody:
    """
    A chunked body, decoded as it arrives: L{feed} it what is unread;
    it says how much of that it took (the caller drops those bytes).

    @ivar size: Bytes of data decoded so far.
    @ivar done: Whether the whole body is in.
    """

    _chunks: list[bytes | bytearray] = field(factory=list)
    size: int = 0
    done: bool = False
    # What comes next: data bytes of the current chunk, or -1: a size line; -2: trailers.
    _left: int = -1
    _trailers: int = 0

    def feed(self, buffer: bytes | bytearray) -> int:
        """
        Decode what C{buffer} holds, up to the end of the body.

        @return: How many of its bytes were taken.
        @raise BadBody: The body breaks the chunked encoding.
        """
        pos = 0
        end = len(buffer)
        while True:
            left = self._left
            if left == -1:
                eol = buffer.find(b"\r\n", pos, pos + MAX_CHUNK_LINE + 2)
                if eol < 0:
                    if end - pos > MAX_CHUNK_LINE:
                        raise BadBody("chunk size line too long")
                    break
                digits = buffer[pos:eol].split(b";", 1)[0].strip(b" \t")
                if not digits or not _HEX.issuperset(digits) or len(digits) > 15:
                    raise BadBody("bad chunk size")
                size = int(digits, 16)
                pos = eol + 2
                self._left = size if size else -2
            elif left == -2:
                eol = buffer.find(b"\r\n", pos)
                if eol < 0:
                    if end - pos + self._trailers > MAX_TRAILERS:
                        raise BadBody("trailers too long")
                    break
                self._trailers += eol - pos + 2
                if self._trailers > MAX_TRAILERS:
                    raise BadBody("trailers too long")
                done = eol == pos
                pos = eol + 2
                if done:
                    self.done = True
                    return pos
            else:
                if end - pos < left + 2:
                    break
                if buffer[pos + left:pos + left + 2] != b"\r\n":
                    raise BadBody("chunk data not followed by CRLF")
                self._chunks.append(buffer[pos:pos + left])
                self.size += left
                pos += left + 2
                self._left = -1
        return pos

    @property
    def pending(self) -> int:
        """
        Bytes of a chunk announced but not decoded yet (for limits).
        """
        return max(self._left, 0)

    def prefix(self) -> bytes:
        """
        The first bytes of the body decoded so far (at least 256 of them, if there are).
        """
        prefix = b""
        for chunk in self._chunks:
            prefix += chunk
            if len(prefix) >= 256:
                break
        return prefix

    def body(self) -> bytes:
        return b"".join(self._chunks)
