# -*- test-case-name: tests.test_http_limits -*-
"""
Refusing oversized request heads politely: 431 with a JSON body, where
Twisted would answer a bare 400 (too many header bytes) or just hang up (a
line longer than its line limit).
"""

from __future__ import annotations

from typing import Any

from twisted.web.http import HTTPChannel, _GenericHTTPChannelProtocol

from ._codec import dumps

MAX_HEADER_BYTES = 16 * 1024


def refuse(channel: Any, status: int, reason: bytes, message: str) -> None:
    """
    Answer a request the channel cannot parse, then close the connection.
    """
    body = dumps({"error": message, "status": status})
    channel.transport.write(
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
        % (status, reason, len(body), body))
    channel.loseConnection()


class MicroChannel(HTTPChannel):
    """
    An HTTP channel whose request line and headers together may take at
    most C{totalHeadersSize} bytes, refused with a 431 past that.
    """

    totalHeadersSize = MAX_HEADER_BYTES
    MAX_LENGTH = MAX_HEADER_BYTES

    def lineReceived(self, line: bytes) -> Any:
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._too_large()
            return None
        return super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        self._too_large()

    def _too_large(self) -> None:
        self.setRawMode()
        self.dataReceived = lambda data: None  # type: ignore[method-assign]
        refuse(self, 431, b"Request Header Fields Too Large",
               f"request line and headers exceed {self.totalHeadersSize} bytes")


def micro_channel_protocol(factory: Any) -> _GenericHTTPChannelProtocol:
    """
    The protocol a MicroSite builds for each connection.
    """
    return _GenericHTTPChannelProtocol(MicroChannel())
