# -*- test-case-name: tests.http.test_lean -*-
"""
A request read by L{micro._http.lean.LeanChannel}: the part of
C{twisted.web}'s C{IRequest} that micro's hot handlers (calls, deliveries)
use, without a C{Headers} object unless someone asks for one, and its
reply's head built from a few pre-made pieces.
"""

from __future__ import annotations

import time
from io import BytesIO
from typing import Any, Callable, Protocol

from twisted.internet.defer import Deferred
from twisted.web.http import NO_BODY_CODES, RESPONSES, datetimeToString
from twisted.web.http_headers import Headers
from zope.interface import Interface

from micro._http.limits import FirstKeyLimit
from micro._http.shared_replies import SHARED_FROM, SharedReplies

_STATUS_LINES = {code: b"HTTP/1.1 %d %s\r\n" % (code, reason) for code, reason in RESPONSES.items()}
_CONTENT_TYPES: dict[bytes, bytes] = {}
_date = [0, b""]


def date_header() -> bytes:
    """
    The C{date} header line of a reply sent now, made once a second.
    """
    now = int(time.time())
    if _date[0] != now:
        _date[0], _date[1] = now, b"date: " + datetimeToString(now) + b"\r\n"
    return _date[1]  # type: ignore[return-value]


def status_line(code: int, message: bytes | None = None) -> bytes:
    line = _STATUS_LINES.get(code) if message is None else None
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (code, message or RESPONSES.get(code, b"Unknown Status"))
    return line


def content_type_line(value: bytes) -> bytes:
    line = _CONTENT_TYPES.get(value)
    if line is None:
        line = b"content-type: " + value + b"\r\n"
        if len(_CONTENT_TYPES) < 64:
            _CONTENT_TYPES[value] = line
    return line


def _raw(value: bytes | str) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else value


class Replier(Protocol):
    """
    Where a L{LeanRequest} sends its reply: its channel.
    """

    def reply(self, request: LeanRequest, data: bytes) -> None: ...

    def send_part(self, request: LeanRequest, data: bytes) -> None: ...

    @property
    def transport(self) -> Any: ...

    @property
    def shared_replies(self) -> SharedReplies | None: ...


LeanHandler = Callable[["LeanRequest"], Any]


class ILeanResource(Interface):
    """
    A root resource that serves some requests on a lean channel.
    """

    def lean_handler(method: bytes, path: bytes,
                     headers: dict[bytes, bytes]) -> tuple[LeanHandler, int | FirstKeyLimit | None] | None:
        """
        Called when a request's head is in (header names in lower case).

        @return: C{(handler, body limit)} to serve it lean: C{handler}
            answers like a C{render} (a body, or C{NOT_DONE_YET} and later
            C{finish}); or C{None} to leave it to C{twisted.web}.
        """


class LeanRequest:
    """
    One request of a lean channel, answered with C{write} and C{finish}
    (or a body returned by the handler): the reply is sent whole, with its
    length, when it is finished.

    @ivar headers: The request's headers by lower-case name (the last of a
        repeated one).
    @ivar raw_headers: Every header line's name and value, in order.
    """

    __slots__ = ("_channel", "method", "uri", "path", "headers", "raw_headers", "content", "code", "code_message",
                 "finished", "close", "_reply_headers", "_body", "_finish", "_gone", "_request_headers",
                 "client_address")

    clientproto = b"HTTP/1.1"
    defaultContentType = None

    def __init__(self, channel: Replier, method: bytes, uri: bytes, headers: dict[bytes, bytes],
                 raw_headers: list[tuple[bytes, bytes]], body: bytes, close: bool, client_address: Any = None):
        self._channel = channel
        self.method = method
        self.uri = self.path = uri
        if b"?" in uri:
            self.path = uri.split(b"?", 1)[0]
        self.headers = headers
        self.raw_headers = raw_headers
        self.content = BytesIO(body)
        self.close = close
        self.client_address = client_address
        self.code = 200
        self.code_message: bytes | None = None
        self.finished = False
        self._reply_headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        # One Deferred per notifyFinish call, as twisted.web gives: each
        # caller sees the outcome, whatever the others' callbacks return.
        self._finish: list[Deferred[None]] | None = None
        self._gone = False
        self._request_headers: Headers | None = None

    def __repr__(self) -> str:
        return f"<LeanRequest {self.method.decode('ascii', 'replace')} {self.uri.decode('latin-1')}>"

    # -- the request ------------------------------------------------------

    def getHeader(self, name: bytes | str) -> Any:
        if isinstance(name, str):
            value = self.headers.get(name.lower().encode("latin-1"))
            return None if value is None else value.decode("latin-1")
        return self.headers.get(name.lower())

    @property
    def requestHeaders(self) -> Headers:
        if self._request_headers is None:
            headers = Headers()
            for name, value in self.raw_headers:
                headers.addRawHeader(name, value)
            self._request_headers = headers
        return self._request_headers

    @property
    def transport(self) -> Any:
        """The connection's transport."""
        return self._channel.transport

    def getClientAddress(self) -> Any:
        return self.client_address

    # -- the reply --------------------------------------------------------

    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        self.code = code
        self.code_message = message

    def setHeader(self, name: bytes | str, value: bytes | str) -> None:
        name, value = _raw(name).lower(), _raw(value)
        headers = self._reply_headers
        for i, (known, _) in enumerate(headers):
            if known == name:
                headers[i] = (name, value)
                return
        headers.append((name, value))

    @property
    def responseHeaders(self) -> Headers:
        return Headers({name: [value] for name, value in self._reply_headers})

    def write(self, data: bytes) -> None:
        if data:
            self._body.append(data)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        if not self._gone:
            self._channel.reply(self, self._head_and_body())
        self._notify(None)

    def send_raw(self, data: bytes) -> None:
        """
        Send C{data}, the first or next bytes of a reply made by the handler
        itself (head and framing included), before the rest is known.
        """
        if not self.finished and not self._gone:
            self._channel.send_part(self, data)

    def finish_raw(self, data: bytes) -> None:
        """
        Finish a reply made by the handler: C{data} is its last bytes.
        """
        if self.finished:
            return
        self.finished = True
        if not self._gone:
            self._channel.reply(self, data)
        self._notify(None)

    def notifyFinish(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if self._finish is None:
            self._finish = [d]
        else:
            self._finish.append(d)
        return d

    def _notify(self, reason: Any) -> None:
        waiting, self._finish = self._finish, None
        for d in waiting or ():
            if reason is None:
                d.callback(None)
            else:
                d.errback(reason)

    def lost(self, reason: Any) -> None:
        """
        The connection ended before the reply was finished.
        """
        self._gone = True
        if not self.finished and self._finish is not None:
            self.finished = True
            self._notify(reason)

    def _head_and_body(self) -> bytes:
        body = b"".join(self._body)
        code = self.code
        head = [status_line(code, self.code_message), date_header()]
        for name, value in self._reply_headers:
            if name == b"content-type":
                head.append(content_type_line(value))
            elif name != b"content-length":
                head.append(name + b": " + value + b"\r\n")
        if code in NO_BODY_CODES:
            body = b""
        else:
            head.append(b"content-length: %d\r\n" % len(body))
        if self.close:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        shared = self._channel.shared_replies if len(body) >= SHARED_FROM else None
        if shared is not None:
            return shared.joined(b"".join(head), body)  # one string for every connection sent this body
        head.append(body)
        return b"".join(head)
