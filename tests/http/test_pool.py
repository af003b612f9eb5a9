"""
The connection pool does not lend out connections whose peer is gone
(fake sockets, no network).
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import succeed
from twisted.internet.task import Clock

from micro._http.pool import CheckedPool, peer_closed
from tests._helpers import fired


@define
class _Socket:
    """
    A socket whose peek answers C{reply}: bytes, or an exception to raise.
    """

    reply: Any
    peeks: int = 0

    def recv(self, size: int, flags: int) -> bytes:
        self.peeks += 1
        if isinstance(self.reply, BaseException):
            raise self.reply
        return self.reply  # type: ignore[no-any-return]


@define(eq=False)
class _Transport:
    socket: _Socket
    aborted: bool = False

    def abortConnection(self) -> None:
        self.aborted = True


@define(eq=False)
class _Connection:
    transport: _Transport
    state: str = "QUIESCENT"


@define
class _Endpoint:
    connected: list[str] = field(factory=list)

    def connect(self, factory: Any) -> Any:
        self.connected.append("new")
        return succeed("new connection")


def _connection(reply: Any) -> _Connection:
    return _Connection(_Transport(_Socket(reply)))


def test_peer_closed_reads_the_socket_without_consuming() -> None:
    """
    A connection is closed when its socket has an end of file, stray bytes
    or an error waiting, and open when a peek would block.
    """
    assert peer_closed(_connection(BlockingIOError())) is False
    assert peer_closed(_connection(b"")) is True
    assert peer_closed(_connection(b"H")) is True
    assert peer_closed(_connection(ConnectionResetError())) is True
    assert peer_closed(object()) is False


def test_pool_skips_connections_closed_by_their_peer() -> None:
    """
    Asked for a connection, the pool drops (and aborts) cached ones whose
    peer has closed, and lends the first live one.
    """
    clock = Clock()
    pool = CheckedPool(clock)
    pool.retryAutomatically = False
    dead, live = _connection(b""), _connection(BlockingIOError())
    pool._putConnection("key", dead)
    pool._putConnection("key", live)
    assert fired(pool.getConnection("key", _Endpoint())) is live  # type: ignore[arg-type]
    assert dead.transport.aborted and not live.transport.aborted
    assert len(clock.getDelayedCalls()) == 0


def test_pool_connects_anew_when_every_cached_connection_is_dead() -> None:
    """
    When every cached connection is closed by its peer, the pool opens a
    new one rather than lending a dead one.
    """
    clock = Clock()
    pool = CheckedPool(clock)
    pool._factory = lambda callback, name: None  # type: ignore[assignment,return-value]
    endpoint = _Endpoint()
    pool._putConnection("key", _connection(b""))
    assert fired(pool.getConnection("key", endpoint)) == "new connection"  # type: ignore[arg-type]
    assert endpoint.connected == ["new"]
