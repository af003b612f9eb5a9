# -*- test-case-name: tests.http.test_wire_client -*-
"""
A whole HTTP response as micro's client hands it over.
"""

from __future__ import annotations

from typing import Any, Sequence

from twisted.web.http_headers import Headers

RawHeaders = Sequence[tuple[bytes, bytes]]


class FullResponse:
    """
    A complete HTTP response: status, headers and the whole body.

    The lean client gives the header lines as they came (names
    lower-cased); the C{Headers} object is only built if someone asks for
    C{headers}, since most readers want one header through L{header}.
    """

    __slots__ = ("code", "body", "_headers", "_raw")

    def __init__(self, code: int, headers: Headers | RawHeaders, body: bytes):
        self.code = code
        self.body = body
        if isinstance(headers, Headers):
            self._headers: Headers | None = headers
            self._raw: RawHeaders | None = None
        else:
            self._headers = None
            self._raw = headers

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            headers = Headers()
            for name, value in self._raw or ():
                headers.addRawHeader(name, value)
            self._headers = headers
        return self._headers

    def header(self, name: bytes) -> bytes | None:
        """
        The last value of header C{name}, or C{None}.
        """
        raw = self._raw
        if raw is None:
            values = self.headers.getRawHeaders(name)
            return values[-1] if values else None
        name = name.lower()
        for key, value in reversed(raw):
            if key == name:
                return value
        return None

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, FullResponse):
            return NotImplemented
        return (self.code, self.body, list(self.headers.getAllRawHeaders())) == (
            other.code, other.body, list(other.headers.getAllRawHeaders()))

    def __repr__(self) -> str:
        return f"FullResponse(code={self.code!r}, headers={self.headers!r}, body={self.body!r})"
