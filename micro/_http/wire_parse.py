# -*- test-case-name: tests.http.test_wire_parse -*-
"""
An incremental parser of HTTP/1.1 responses, for the lean client
(L{micro._http.wire_client}).

It is fed the bytes of one connection as they come, in pieces of any
size, and gives back each whole response: status, headers as they came
(names lower-cased) and the body, whether framed by C{Content-Length},
chunked, or ended by the server closing the connection.  Interim (1xx)
responses are skipped.  It keeps no more than a response's head (at most
L{MAX_HEAD} bytes) and its body (at most the caller's limit) in memory.

The common reply, a head and a small body in one read, costs one
C{find}, one C{split} and a loop over a handful of header lines.

Given a L{BodySink}, the parser keeps no body: it hands the sink the head
as soon as it is in, then each piece of the body (a proxy streams them on).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from micro._http.response import FullResponse

MAX_HEAD = 64 * 1024
MAX_LINE = 4096

_HEAD, _LENGTH, _CLOSE, _SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(8)
_HEX = b"0123456789abcdefABCDEF"
_LINE = re.compile(rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*)\r?$", re.MULTILINE)
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection"})


class ParseError(Exception):
    """
    The bytes are not an HTTP/1.1 response this client accepts.
    """


class TooLarge(Exception):
    """
    The response's body is longer than the limit.
    """


class BodySink(Protocol):
    """
    Where a streaming L{ResponseParser} puts a response as it arrives.
    """

    def head(self, code: int, phrase: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        """The final (not interim) status and headers are in."""

    def append(self, piece: bytes) -> None:
        """The next piece of the body (framing removed)."""

    def flush(self, source: Any) -> None:
        """
        A read ended before the response did: pass on what came so far.
        C{source} is the connection's transport (a push producer, to pause
        while the reader cannot take more).
        """


class ResponseParser:
    """
    Parse the response to one request.

    @ivar started: Whether any byte of the response has arrived.
    @ivar leftover: Bytes that came after the whole response.
    @ivar keep_alive: Whether the connection may carry another request
        after the (whole) response.
    """

    def __init__(self, limit: int | None = None, head_request: bool = False, sink: BodySink | None = None):
        self._limit = None if sink is not None else limit
        self._head_request = head_request
        self._state = _HEAD
        self._buf = b""
        # The body's pieces go to C{sink} (its C{append}) when there is one.
        self.sink = sink
        self._parts: list[bytes] | BodySink = [] if sink is None else sink
        self._size = 0
        self._remaining = 0
        self._code = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = False
        self.started = False
        self.leftover = b""

    def feed(self, data: bytes) -> FullResponse | None:
        """
        Take the next bytes; the reply, once they complete it.

        @raise ParseError: The bytes break the protocol.
        @raise TooLarge: The body is longer than the limit.
        """
        if not data:
            return None
        self.started = True
        if self._state == _DONE:
            self.leftover += data
            self.keep_alive = False
            return None
        buf = self._buf + data if self._buf else data
        self._buf = b""
        while True:
            state = self._state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                bare = buf.find(b"\n\n", 0, len(buf) if end < 0 else end)
                if bare >= 0:
                    end, skip = bare, 2
                elif end >= 0:
                    skip = 4
                elif len(buf) > MAX_HEAD:
                    raise ParseError(f"response head longer than {MAX_HEAD} bytes")
                else:
                    self._buf = buf
                    return None
                if end > MAX_HEAD:
                    raise ParseError(f"response head longer than {MAX_HEAD} bytes")
                self._head(buf[:end])
                buf = buf[end + skip:]
            elif state == _CLOSE:
                self._add(buf)
                return None
            elif state == _LENGTH or state == _DATA:
                need = self._remaining
                if len(buf) < need:
                    if buf:
                        self._parts.append(buf)
                        self._remaining = need - len(buf)
                    return None
                self._parts.append(buf[:need])
                if state == _LENGTH:
                    return self._complete(buf[need:])
                buf = buf[need:]
                self._state = _DATA_END
            else:
                end = buf.find(b"\n")
                if end < 0:
                    if len(buf) > MAX_LINE:
                        raise ParseError("chunk framing line too long")
                    self._buf = buf
                    return None
                line = buf[:end]
                buf = buf[end + 1:]
                if line.endswith(b"\r"):
                    line = line[:-1]
                if state == _SIZE:
                    self._chunk_size(line)
                elif state == _DATA_END:
                    if line:
                        raise ParseError("chunk not followed by CRLF")
                    self._state = _SIZE
                elif not line:
                    return self._complete(buf)

    def finish(self) -> FullResponse | None:
        """
        The connection closed: the reply, if that completes it.
        """
        if self._state == _CLOSE:
            self._state = _DONE
            return FullResponse(self._code, self._headers, self._body())
        return None

    def _body(self) -> bytes:
        parts = self._parts
        if not isinstance(parts, list):
            return b""  # the sink has it
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._limit is not None and self._size > self._limit:
            raise TooLarge(f"reply larger than {self._limit} bytes")
        if data:
            self._parts.append(data)

    def _complete(self, rest: bytes) -> FullResponse:
        self._state = _DONE
        self.leftover = rest
        if rest:
            self.keep_alive = False
        return FullResponse(self._code, self._headers, self._body())

    def _chunk_size(self, line: bytes) -> None:
        digits = line.split(b";", 1)[0].strip(b" \t")
        if not digits or digits.strip(_HEX) or len(digits) > 15:
            raise ParseError(f"bad chunk size {line[:40]!r}")
        size = int(digits, 16)
        if size == 0:
            self._state = _TRAILER
            return
        self._size += size
        if self._limit is not None and self._size > self._limit:
            raise TooLarge(f"reply larger than {self._limit} bytes")
        self._remaining = size
        self._state = _DATA

    def _head(self, head: bytes) -> None:
        first, newline, block = head.partition(b"\n")
        status = first.rstrip(b"\r").split(b" ", 2)
        if len(status) < 2 or status[0] not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise ParseError(f"bad status line {first[:80]!r}")
        code_text = status[1]
        if len(code_text) != 3 or not code_text.isdigit():
            raise ParseError(f"bad status code {code_text[:10]!r}")
        code = int(code_text)
        if code < 100:
            raise ParseError(f"bad status code {code}")
        headers = _header_lines(block) if newline else []
        length = chunked = close = keep = None
        for name, value in headers:
            if name not in _FRAMING:
                continue
            if name == b"content-length":
                if not value.isdigit() or (length is not None and int(value) != length):
                    raise ParseError(f"bad content-length {value[:40]!r}")
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value.rsplit(b",", 1)[-1].strip().lower() == b"chunked"
            else:
                tokens = value.lower()
                close = close or b"close" in tokens
                keep = keep or b"keep-alive" in tokens
        if code < 200:
            if code == 101:
                raise ParseError("unexpected protocol switch")
            return  # an interim reply: the real one follows
        self._code, self._headers = code, headers
        if self.sink is not None:
            self.sink.head(code, status[2] if len(status) > 2 else b"", headers)
        self.keep_alive = not close and (status[0] == b"HTTP/1.1" or bool(keep))
        if self._head_request or code in (204, 304):
            self._state, self._remaining = _LENGTH, 0
        elif chunked:
            self._state = _SIZE
        elif length is not None and chunked is None:
            if self._limit is not None and length > self._limit:
                raise TooLarge(f"reply larger than {self._limit} bytes")
            self._state, self._remaining = _LENGTH, length
        else:
            self._state, self.keep_alive = _CLOSE, False


def _header_lines(block: bytes) -> list[tuple[bytes, bytes]]:
    """
    The C{(name, value)} pairs of the header lines in C{block}, names
    lower-cased: one regular expression over them all when every line is
    a plain C{name: value}, else line by line (continuation lines, errors).
    """
    found = _LINE.findall(block)
    if len(found) == block.count(b"\n") + 1:
        return [(name.lower(), value.rstrip(b" \t")) for name, value in found]
    headers: list[tuple[bytes, bytes]] = []
    for line in block.split(b"\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers.pop()
            headers.append((name, value + b" " + line.strip()))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or b" " in name or b"\t" in name:
            raise ParseError(f"bad header line {line[:80]!r}")
        headers.append((name.lower(), value.strip(b" \t\r")))
    return headers
