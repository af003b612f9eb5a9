# -*- test-case-name: tests.registry.store.test_redis_link -*-
"""
The registry's connections to Redis, through txredisapi: a small pool for
scripts and one connection of its own for the blocking read of the feed.

Every call has a deadline: a Redis that hangs or is gone turns into a
L{StoreUnavailable} (503) after L{CALL_TIMEOUT} seconds, never a request
that waits forever.  The connection a call went out on is dropped when
the call gets no answer in time: after a network partition heals, a
connection whose bytes were lost would stay silent until TCP retransmits
(seconds later) or txredisapi's own deadline closes it, with every later
call queued behind; dropped, the pool connects again at once.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._registry.store.interface import StoreUnavailable
from micro._registry.store.redis_address import RedisAddress
from micro._registry.store.scripts import SCRIPT, SHA

CALL_TIMEOUT = 2.0
# A read of the feed blocks in Redis for up to its block time: one that has
# not answered this much later went out on a dead connection.
FEED_MARGIN = 1.0
CONNECT_TIMEOUT = 2.0
# txredisapi's own deadline, which closes the connection: only for a Redis
# that stays silent far longer than a call may wait.
CONNECTION_TIMEOUT = 10.0
# Reconnecting after Redis went away: soon, and then every second at most
# (txredisapi's default waits up to 10 s, longer than a lease).
RECONNECT_FIRST = 0.1
RECONNECT_MAX = 0.5


def protocol_parsing_in_one_turn() -> Any:
    """
    txredisapi's protocol, parsing a whole reply as it arrives.

    txredisapi parses each bulk element of a reply on a reactor turn of its
    own (its setLineMode pauses the transport and calls itself later, to
    avoid recursing): a reply of 2,000 elements took 2,000 turns, each as
    long as a registry serving 10,000 nodes makes it, and calls timed out
    with their replies half read.  Here the rest of the data is parsed in
    a loop instead, in the turn it arrived.
    """
    import txredisapi  # imported late: it imports the global reactor

    class ParsingInOneTurn(txredisapi.RedisProtocol):
        _rest = b""

        def setLineMode(self, extra: bytes = b"") -> None:
            self.line_mode = 1
            if extra:
                self._rest += extra

        def dataReceived(self, data: bytes, unpause: bool = False) -> None:
            super().dataReceived(data, unpause)
            while self._rest and not self.paused:
                rest, self._rest = self._rest, b""
                super().dataReceived(rest)

    return ParsingInOneTurn


def _pool(address: RedisAddress, size: int, reply_timeout: float) -> Any:
    import txredisapi  # imported late: it imports the global reactor

    pool = txredisapi.lazyConnectionPool(
        address.host, address.port, address.db, poolsize=size, password=address.password,
        connectTimeout=CONNECT_TIMEOUT, replyTimeout=reply_timeout, convertNumbers=False)
    factory = pool._factory
    factory.protocol = protocol_parsing_in_one_turn()  # before the connections are made
    factory.initialDelay, factory.maxDelay = RECONNECT_FIRST, RECONNECT_MAX
    return pool


@define
class RedisLink:
    """
    Calls to one Redis server, each with a deadline.
    """

    address: RedisAddress
    _clock: Any
    timeout: float = CALL_TIMEOUT
    block_seconds: float = 1.0
    _commands: Any = field(default=None, init=False)
    _feed: Any = field(default=None, init=False)
    # When a read of the feed that was cancelled stops blocking in Redis.
    _feed_free_at: float = field(default=0.0, init=False)

    _log = Logger()

    def connect(self) -> None:
        self._commands = _pool(self.address, 2, CONNECTION_TIMEOUT)
        self._feed = _pool(self.address, 1, self.block_seconds + CONNECTION_TIMEOUT)

    def script(self, *args: Any) -> Deferred[Any]:
        """
        Run the cluster script with C{args} (the operation first).
        """
        keys = (1, self.address.prefix)
        d = self._call(self._commands, "EVALSHA", SHA, *keys, *args)

        def unknown(failure: Failure) -> Any:
            if "NOSCRIPT" in str(failure.value):
                return self._call(self._commands, "EVAL", SCRIPT, *keys, *args)
            return failure
        return d.addErrback(unknown)

    def command(self, *args: Any) -> Deferred[Any]:
        return self._call(self._commands, *args)

    @property
    def feed_deadline(self) -> float:
        """
        How long a read of the feed may take: its block time and a margin.
        """
        return self.block_seconds + FEED_MARGIN

    def read_feed(self, last_id: str, count: int) -> Deferred[Any]:
        """
        The next C{count} entries (at most) of the change feed after
        C{last_id}, waiting for them up to C{block_seconds}; C{None} if
        none came.
        """
        block = int(self.block_seconds * 1000)
        now = self._clock.seconds()
        # A read cancelled (to load a snapshot now) still blocks on the
        # connection, and this one is queued behind it.
        behind = max(0.0, self._feed_free_at - now)
        d = self._call(self._feed, "XREAD", "COUNT", count, "BLOCK", block, "STREAMS",
                       self.address.prefix + "changes", last_id, deadline=self.feed_deadline + behind)

        def cancelled(failure: Failure) -> Failure:
            if failure.check(CancelledError):
                self._feed_free_at = now + behind + self.block_seconds
            return failure
        return d.addErrback(cancelled)

    def close(self) -> Deferred[Any]:
        from twisted.internet.defer import gatherResults

        pools = [p for p in (self._commands, self._feed) if p is not None]
        self._commands = self._feed = None
        return gatherResults([p.disconnect() for p in pools], consumeErrors=True)

    def _call(self, pool: Any, *args: Any, deadline: float | None = None) -> Deferred[Any]:
        result: Deferred[Any] = Deferred()
        if pool is None:
            result.errback(StoreUnavailable(f"the registry's store ({self.address.describe()}) is closed"))
            return result
        what = str(args[0])
        seconds = self.timeout if deadline is None else deadline
        factory = pool._factory
        if not factory.pool and factory.deferred is None:
            # Connected once, not now: txredisapi would queue the call until
            # Redis is back, and run it then, long after its caller was told
            # it failed.  (Before the first connection, calls wait for it.)
            result.errback(StoreUnavailable(f"the registry's store ({self.address.describe()}) is not "
                                            "connected; try again"))
            return result
        used: list[Any] = []  # the connection the call went out on

        def timed_out() -> None:
            if not result.called:
                for connection in used:
                    if _drop(connection):
                        self._log.info("no answer to {what} from the store ({store}) within {seconds:g}s: "
                                       "dropping its connection and connecting again", what=what,
                                       store=self.address.describe(), seconds=seconds)
                result.errback(StoreUnavailable(
                    f"the registry's store ({self.address.describe()}) did not answer {what} within "
                    f"{seconds:g}s; try again"))

        # A registry busy for longer than the deadline runs its timers
        # before it reads the replies that came meanwhile: give them one
        # more turn of the reactor before giving up.
        timers: list[Any] = []
        timers.append(self._clock.callLater(seconds, lambda: timers.append(self._clock.callLater(0, timed_out))))

        def done(outcome: Any) -> None:
            for timer in timers:
                if timer.active():
                    timer.cancel()
            if result.called:
                return
            if isinstance(outcome, Failure):
                result.errback(self._unavailable(outcome, what))
            else:
                result.callback(outcome)

        def send(connection: Any) -> Any:
            used.append(connection)
            return connection.execute_command(*args)

        factory.getConnection(peek=True).addCallback(send).addBoth(done)
        return result

    def _unavailable(self, failure: Failure, what: str) -> Failure:
        import txredisapi

        if failure.check(txredisapi.ResponseError):
            return failure  # it answered, with an error
        return Failure(StoreUnavailable(f"the registry's store ({self.address.describe()}) is unreachable "
                                        f"({what}: {failure.getErrorMessage()}); try again"))


def _drop(connection: Any) -> bool:
    """
    Close a connection a call left (unanswered, or no longer wanted):
    whatever was queued on it fails now, and the pool connects again.
    Whether it was open.
    """
    transport = connection.transport
    if not connection.connected or transport is None:
        return False
    transport.abortConnection()
    return True
