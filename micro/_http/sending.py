# -*- test-case-name: tests.http.test_sending -*-
"""
Writing to a TCP connection without waiting for the reactor's next turn.

Neither the client nor the server half: both may use it.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.tcp import Connection

from micro._http.shared_replies import SHARED_FROM


def send_now(transport: Any, data: bytes) -> None:
    """
    Write C{data} to a TCP connection at once if nothing is waiting in
    its buffer, sparing the reactor a turn (and two C{epoll_ctl} calls)
    for what would fit in the socket anyway; what does not fit is left to
    the transport, which also meets any error on its next write.  Not
    for a connection that started TLS over itself (its bytes must go
    through TLS).  Nor for a large string: it may be one reply shared by
    many connections (L{micro._http.shared_replies}), which the transport
    sends from the string itself, where a partial send here would leave a
    copy of its rest per connection.
    """
    if len(data) < SHARED_FROM and isinstance(transport, Connection) and not transport.dataBuffer and not transport._tempDataBuffer \
            and transport.connected and not transport.disconnecting and not transport.TLS:
        try:
            sent = transport.socket.send(data)
        except OSError:
            sent = 0
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)
