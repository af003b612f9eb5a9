# -*- test-case-name: tests.http.test_pool -*-
"""
A persistent connection pool that does not lend out dead connections.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.web.client import HTTPConnectionPool


def peer_closed(connection: Any) -> bool:
    """
    Whether the peer of an idle pooled connection has closed or reset it,
    though the reactor has not noticed yet: the socket has an end of file
    (or bytes no idle HTTP connection should have) waiting, or an error.
    """
    sock = getattr(getattr(connection, "transport", None), "socket", None)
    if sock is None:
        return False
    try:
        sock.recv(1, socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0))
    except BlockingIOError:
        return False  # nothing to read: still open
    except OSError:
        return True  # reset
    return True  # end of file, or stray bytes


class CheckedPool(HTTPConnectionPool):
    """
    A persistent pool that does not lend out a connection whose peer has
    already closed it.

    When a server process dies, its idle connections are closed at once,
    but the reactor may hand one out before it reads that news; a POST
    written to it is lost, and cannot safely be resent.  Looking at the
    socket first (as urllib3 does) shrinks that window to the moment
    between lending the connection and writing to it.
    """

    def getConnection(self, key: Any, endpoint: IStreamClientEndpoint) -> Deferred[Any]:
        connections = self._connections.get(key)
        while connections and peer_closed(connections[0]):
            dead = connections.pop(0)
            self._timeouts.pop(dead).cancel()
            dead.transport.abortConnection()
        return super().getConnection(key, endpoint)
