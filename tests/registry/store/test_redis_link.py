"""
The deadline of every call to Redis, on a fake clock with fake
connections: a call that gets no answer in time fails with a 503 and
drops the connection it went out on, so that the pool connects again at
once instead of queueing more calls behind a dead one.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.task import Clock

from micro._registry.store.interface import StoreUnavailable
from micro._registry.store.redis_address import parse_store_url
from micro._registry.store.redis_link import CALL_TIMEOUT, FEED_MARGIN, RedisLink
from tests._helpers import failed, fired

ADDRESS = parse_store_url("redis://127.0.0.1:1/0")


@define
class FakeTransport:
    aborted: int = 0

    def abortConnection(self) -> None:
        self.aborted += 1


@define
class FakeConnection:
    connected: int = 1
    transport: FakeTransport = field(factory=FakeTransport)
    sent: list[tuple[tuple[Any, ...], Deferred[Any]]] = field(factory=list)

    def execute_command(self, *args: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.sent.append((args, d))
        return d


@define
class FakeFactory:
    connection: FakeConnection
    deferred: Any = None

    @property
    def pool(self) -> list[FakeConnection]:
        return [self.connection] if self.connection.connected else []

    def getConnection(self, peek: bool = False) -> Deferred[FakeConnection]:
        return succeed(self.connection)


@define
class FakePool:
    _factory: FakeFactory


def _link() -> tuple[Clock, RedisLink, FakeConnection, FakeConnection]:
    clock = Clock()
    assert ADDRESS is not None
    link = RedisLink(ADDRESS, clock)
    commands, feed = FakeConnection(), FakeConnection()
    link._commands, link._feed = FakePool(FakeFactory(commands)), FakePool(FakeFactory(feed))
    return clock, link, commands, feed


def test_a_call_unanswered_within_its_deadline_drops_its_connection() -> None:
    """
    A script call that gets no answer within the call timeout fails with a 503 and aborts its connection;
    one answered in time leaves it open.
    """
    clock, link, commands, _ = _link()
    answered = link.command("PING")
    commands.sent[0][1].callback("PONG")
    assert fired(answered) == "PONG"
    hung = link.script("beat", "x")
    clock.advance(CALL_TIMEOUT - 0.01)
    assert not hung.called and commands.transport.aborted == 0
    clock.advance(0.01)
    clock.advance(0)  # one more turn for replies that came meanwhile
    error = failed(hung)
    assert isinstance(error, StoreUnavailable) and "did not answer EVALSHA within 2s" in str(error)
    assert commands.transport.aborted == 1


def test_a_read_of_the_feed_is_dropped_a_margin_after_its_block_time() -> None:
    """
    A read of the feed blocks in Redis for a second: unanswered after that and the margin, its connection is
    dropped (not after txredisapi's 11 s).
    """
    clock, link, commands, feed = _link()
    read = link.read_feed("0-0", 10)
    assert feed.sent[0][0][:5] == ("XREAD", "COUNT", 10, "BLOCK", 1000)
    clock.advance(link.block_seconds + FEED_MARGIN - 0.01)
    assert not read.called and feed.transport.aborted == 0
    clock.advance(0.01)
    clock.advance(0)
    assert isinstance(failed(read), StoreUnavailable)
    assert feed.transport.aborted == 1 and commands.transport.aborted == 0


def test_a_late_answer_after_the_deadline_is_ignored_and_no_connection_is_dropped_twice() -> None:
    """
    The reply that comes after the call failed changes nothing; a connection already closed is not aborted.
    """
    clock, link, commands, _ = _link()
    hung = link.command("GET", "k")
    commands.connected = 0  # lost meanwhile: the pool reconnects anyway
    clock.advance(CALL_TIMEOUT)
    clock.advance(0)
    assert isinstance(failed(hung), StoreUnavailable) and commands.transport.aborted == 0
    commands.sent[0][1].callback("late")
    assert isinstance(failed(link.command("GET", "k")), StoreUnavailable), "not connected: fails at once"


def test_a_read_queued_behind_a_cancelled_one_waits_for_it_too() -> None:
    """
    A read of the feed cancelled (to load a snapshot now) goes on blocking in Redis for up to a second; the
    next read, queued behind it on the connection, gets that second more before its connection is dropped.
    """
    clock, link, _, feed = _link()
    cancelled = link.read_feed("0-0", 10)
    cancelled.cancel()
    assert isinstance(failed(cancelled), CancelledError) and feed.transport.aborted == 0
    clock.advance(0.2)
    queued = link.read_feed("5-0", 10)
    clock.advance(link.block_seconds + FEED_MARGIN)
    clock.advance(0)
    assert not queued.called and feed.transport.aborted == 0
    clock.advance(link.block_seconds - 0.2)
    clock.advance(0)
    assert isinstance(failed(queued), StoreUnavailable) and feed.transport.aborted == 1
    clock.advance(5)
    later = link.read_feed("5-0", 10)
    clock.advance(link.block_seconds + FEED_MARGIN)
    clock.advance(0)
    assert isinstance(failed(later), StoreUnavailable), "only the read right after waits longer"
