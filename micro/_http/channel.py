# -*- test-case-name: tests.http.test_channel -*-
"""
Refusing oversized requests politely: a 431 for a head too large, where
Twisted would answer a bare 400 (too many header bytes) or just hang up (a
line longer than its line limit), and a 413 for a body too large (see
L{micro._http.early_request}); both with a JSON body.  And writing a large
reply's head and body as one string shared by every connection that sends
it (L{micro._http.shared_replies}).
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.web.http import HTTPChannel, _GenericHTTPChannelProtocol
from twisted.web.http_headers import Headers

from micro._kernel.codec import dumps

MAX_HEADER_BYTES = 16 * 1024
# What a refused client may still send, thrown away, before it is cut off.
DISCARD_LIMIT = 64 * 1024 * 1024


def refuse(channel: Any, status: int, reason: bytes, message: str) -> None:
    """
    Answer a request the channel will not serve, and stop listening to it.

    The reply goes out with our side of the connection closed, while what
    the client still sends is read and thrown away (up to
    L{DISCARD_LIMIT}): closing both sides with unread data would reset the
    connection, and the client might never see the answer.  The channel's
    idle timeout ends a client that neither stops nor closes.
    """
    body = dumps({"error": message, "status": status})
    transport = channel.transport
    transport.write(
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
        % (status, reason, len(body), body))
    discarded = [0]

    def discard(data: bytes) -> None:
        discarded[0] += len(data)
        if discarded[0] > DISCARD_LIMIT:
            transport.abortConnection()

    channel.dataReceived = discard
    close_writing = getattr(transport, "loseWriteConnection", None)
    (close_writing or transport.loseConnection)()


class MicroChannel(HTTPChannel):
    """
    An HTTP channel whose request line and headers together may take at
    most C{totalHeadersSize} bytes in at most C{maxHeaders} fields, refused
    with a 431 past either.
    """

    totalHeadersSize = MAX_HEADER_BYTES
    MAX_LENGTH = MAX_HEADER_BYTES
    # The head of the reply being written, held during one Request.write
    # to go out joined to its body.
    _head: bytes | None = None
    _holding: bool = False

    def write_shared(self, write: Callable[[bytes], None], body: bytes) -> None:
        """
        Call C{write(body)} (a Request's first write), sending the head it
        writes and C{body} as one string, shared with every other
        connection of the site that sends the same head and body.
        """
        self._holding = True
        try:
            write(body)
        finally:
            self._holding = False
            self._send_head()  # if the body was not sent (a HEAD request, or a code without a body)

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers: Any) -> None:
        if not self._holding or not isinstance(headers, Headers):
            super().writeHeaders(version, code, reason, headers)
            return
        parts = [version, b" ", code, b" ", reason, b"\r\n"]
        for name, values in headers.getAllRawHeaders():
            for value in values:
                parts.extend((name, b": ", value, b"\r\n"))
        parts.append(b"\r\n")
        self._head = b"".join(parts)

    def write(self, data: bytes) -> None:
        transport: Any = self.transport
        head = self._head
        if head is None:
            transport.write(data)
            return
        self._head = None
        replies = getattr(getattr(self, "site", None), "shared_replies", None)
        transport.write(head + data if replies is None else replies.joined(head, data))

    def writeSequence(self, iovec: Any) -> None:
        self._send_head()  # a chunked body: its head goes first, as it is
        transport: Any = self.transport
        transport.writeSequence(iovec)

    def _send_head(self) -> None:
        head, self._head = self._head, None
        if head is not None:
            transport: Any = self.transport
            transport.write(head)

    def lineReceived(self, line: bytes) -> Any:
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._too_large(f"request line and headers exceed {self.totalHeadersSize} bytes")
            return None
        return super().lineReceived(line)

    def headerReceived(self, line: bytes) -> bool:
        if self._receivedHeaderCount >= self.maxHeaders:
            self._too_large(f"more than {self.maxHeaders} header fields")
            return False
        return bool(super().headerReceived(line))

    def lineLengthExceeded(self, line: bytes) -> None:
        self._too_large(f"request line and headers exceed {self.totalHeadersSize} bytes")

    def _too_large(self, message: str) -> None:
        # LineReceiver goes on parsing what this read left in its buffer
        # after lineReceived returns, unless the transport is disconnecting,
        # which a half-close is not: hand that rest to the discarding reader
        # instead, or it would be parsed as a body no request expects.
        rest, self._buffer = self._buffer, b""
        refuse(self, 431, b"Request Header Fields Too Large", message)
        if rest:
            self.dataReceived(rest)


def micro_channel_protocol(factory: Any) -> _GenericHTTPChannelProtocol:
    """
    The protocol a MicroSite builds for each connection.
    """
    return _GenericHTTPChannelProtocol(MicroChannel())
