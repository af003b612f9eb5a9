"""
Writing straight to a TCP connection's socket when nothing waits in its
buffer (a connection object with a fake socket, no network).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.tcp import Connection
from twisted.internet.testing import StringTransport

from micro._http.sending import send_now


class _Socket:
    def __init__(self, takes: int | None = None, error: OSError | None = None):
        self.takes, self.error, self.sent = takes, error, b""

    def send(self, data: bytes) -> int:
        if self.error is not None:
            raise self.error
        taken = data if self.takes is None else data[:self.takes]
        self.sent += taken
        return len(taken)


def _connection(socket: _Socket, buffered: bytes = b"") -> Any:
    connection = Connection.__new__(Connection)
    connection.socket, connection.connected, connection.disconnecting = socket, 1, False
    connection.dataBuffer, connection._tempDataBuffer, connection.TLS = buffered, [], False
    connection.written = []
    connection.write = connection.written.append
    return connection


def test_an_empty_buffer_sends_at_once() -> None:
    """
    All of it goes to the socket; nothing is left to the transport.
    """
    socket = _Socket()
    connection = _connection(socket)
    send_now(connection, b"request")
    assert (socket.sent, connection.written) == (b"request", [])


def test_what_does_not_fit_is_left_to_the_transport() -> None:
    """
    A partial send leaves the rest to the transport's buffer, in order.
    """
    socket = _Socket(takes=3)
    connection = _connection(socket)
    send_now(connection, b"request")
    assert (socket.sent, connection.written) == (b"req", [b"uest"])


def test_waiting_bytes_and_errors_go_through_the_transport() -> None:
    """
    Bytes already buffered go first; an error on the socket is the transport's to meet.
    """
    socket = _Socket()
    connection = _connection(socket, buffered=b"earlier")
    send_now(connection, b"request")
    assert (socket.sent, connection.written) == (b"", [b"request"])
    connection = _connection(_Socket(error=ConnectionResetError()))
    send_now(connection, b"request")
    assert connection.written == [b"request"]


def test_a_connection_under_tls_is_written_to() -> None:
    """
    A connection that started TLS over itself is written to as usual, never straight to its socket.
    """
    socket = _Socket()
    connection = _connection(socket)
    connection.TLS = True
    send_now(connection, b"request")
    assert (socket.sent, connection.written) == (b"", [b"request"])


def test_other_transports_are_written_to() -> None:
    """
    A transport that is no TCP connection is written to as usual.
    """
    transport = StringTransport()
    send_now(transport, b"request")
    assert transport.value() == b"request"
