"""
When a registry on Redis is ready, on a fake clock with a fake link to
Redis: only while its view holds every change in the store (it read the
feed to its end recently), whatever its other calls to Redis do.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from attrs import define, field
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from micro._registry.state import RegistryState
from micro._registry.store import redis_feed
from micro._registry.store.interface import StoreUnavailable
from micro._registry.store.redis import RedisStore
from micro._registry.store.redis_address import parse_store_url
from micro._registry.store.redis_link import CALL_TIMEOUT, FEED_MARGIN
from micro._registry.store.replica import Replica
from tests._helpers import fired

TTL = 4.0
ADDRESS = parse_store_url("redis://127.0.0.1:1/0")
EPOCH = "e1"


@define
class FakeLink:
    """
    The calls a store makes to Redis, answered by the test.
    """

    timeout: float = CALL_TIMEOUT
    block_seconds: float = 1.0
    feed_deadline: float = 1.0 + FEED_MARGIN
    scripts: list[tuple[tuple[Any, ...], Deferred[Any]]] = field(factory=list)
    reads: list[Deferred[Any]] = field(factory=list)
    # What a beat gets back: C{None} while Redis is out of reach.
    beat_reply: list[Any] | None = field(factory=lambda: ["ok", EPOCH, 0, 0, 0, 0, 0, 0])

    def connect(self) -> None:
        pass

    def script(self, *args: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.scripts.append((args, d))
        if args[0] == "beat":
            if self.beat_reply is None:
                d.errback(StoreUnavailable("the beat timed out"))
            else:
                d.callback(self.beat_reply)
        return d

    def cut(self) -> None:
        """
        Redis out of reach: beats and the read of the feed waiting now fail.
        """
        self.beat_reply = None
        self.fail_reads()

    def fail_reads(self) -> None:
        for d in self.reads:
            if not d.called:
                d.errback(StoreUnavailable("cut off"))

    def command(self, *args: Any) -> Deferred[Any]:
        return succeed(1)

    def read_feed(self, last_id: str, count: int) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.reads.append(d)
        return d

    def close(self) -> Deferred[None]:
        return succeed(None)

    def pending(self, op: str) -> list[Deferred[Any]]:
        return [d for args, d in self.scripts if args[0] == op and not d.called]

    def read(self, reply: Any) -> None:
        """
        Answer the read of the feed waiting now.
        """
        [waiting] = [d for d in self.reads if not d.called]
        if isinstance(reply, Exception):
            waiting.errback(reply)
        else:
            waiting.callback(reply)


def _entries(first: int, count: int) -> list[Any]:
    """
    A reply of the feed with registrations at positions C{first}..,
    each the next version.
    """
    rows = []
    for position in range(first, first + count):
        entry = {"op": "register", "service": "svc", "location": f"http://127.0.0.1:{8000 + position}",
                 "p": position, "ep": EPOCH, "v": position, "r": "elsewhere"}
        rows.append([f"{position}-0", ["e", json.dumps(entry)]])
    return [["micro:{micro}:changes", rows]]


@define
class Registry:
    clock: Clock
    link: FakeLink
    store: RedisStore
    unready: list[float] = field(factory=list)

    def readiness(self, seconds: float, step: float = 0.05) -> list[bool]:
        """
        Whether the store is ready, every C{step} over C{seconds}, with
        each read of the feed answered (no change) 1.2 s after it was seen
        waiting: its block time, and time on the network and in the reactor.
        """
        seen: list[bool] = []
        waiting_since: dict[int, float] = {}
        for _ in range(round(seconds / step)):
            self.clock.advance(step)
            for d in self.link.reads:
                if not d.called:
                    since = waiting_since.setdefault(id(d), self.clock.seconds())
                    if self.clock.seconds() - since >= self.link.block_seconds + 0.2:
                        d.callback(None)
            seen.append(self.store.ready)
        return seen


@pytest.fixture
def registry() -> Registry:
    clock, link = Clock(), FakeLink()
    assert ADDRESS is not None
    store = RedisStore(ADDRESS, clock, ttl=TTL, registry_id="here")
    store._link = link  # type: ignore[assignment]
    store.attach(Replica(RegistryState(clock, ttl=TTL, epoch=EPOCH)))
    loaded = store.start()
    [snapshot] = link.pending("snapshot")
    snapshot.callback(["ok", EPOCH, 0, 0, 0, 0, "0-0", [], [], []])
    fired(loaded)
    result = Registry(clock, link, store)
    store.on_unready(lambda: result.unready.append(clock.seconds()))
    return result


def test_ready_once_loaded_and_while_the_feed_is_read() -> None:
    """
    Loaded from a snapshot, the registry is ready; reading the feed to its end every second keeps it ready.
    """
    clock, link = Clock(), FakeLink()
    assert ADDRESS is not None
    store = RedisStore(ADDRESS, clock, ttl=TTL)
    store._link = link  # type: ignore[assignment]
    store.attach(Replica(RegistryState(clock, ttl=TTL, epoch=EPOCH)))
    store.start()
    assert not store.ready
    link.pending("snapshot")[0].callback(["ok", EPOCH, 0, 0, 0, 0, "0-0", [], [], []])
    assert store.ready
    assert all(Registry(clock, link, store).readiness(3 * TTL))


def test_a_registry_whose_feed_stops_is_not_ready_after_half_a_lease(registry: Registry) -> None:
    """
    Its reads of the feed fail from some time on: it stays ready until half a lease after the last read that
    reached the end answered, then not, and tells its listeners once.
    """
    clock, link, store = registry.clock, registry.link, registry.store
    clock.advance(1.0)
    link.read(None)
    clock.advance(0.5)
    link.read(None)  # current as of 1.5
    link.cut()
    seen = []
    for _ in range(40):
        clock.advance(0.125)  # exact in binary: no rounding at the limit
        seen.append((clock.seconds(), store.ready))
        link.fail_reads()
    assert [t for t, ready in seen if not ready][0] == 1.5 + TTL / 2 and not seen[-1][1]
    assert [t for t, ready in seen if ready][-1] < 1.5 + TTL / 2
    assert len(registry.unready) == 1


def test_back_from_a_cut_it_is_ready_only_once_it_read_the_changes_made_meanwhile(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Cut off, then back: the store answering its other calls (beats) does not make it ready, nor does a read
    that returned as many entries as it asked for; the read that reached the end does, and it stays ready.
    """
    monkeypatch.setattr(redis_feed, "READ_COUNT", 2)
    clock, link, store = registry.clock, registry.link, registry.store
    link.cut()
    for _ in range(60):
        clock.advance(0.1)
        link.fail_reads()
    assert not store.ready and len(registry.unready) == 1
    link.beat_reply = ["ok", EPOCH, 0, 0, 0, 0, 3, 3]
    clock.advance(0.5)
    assert not store.ready, "a beat answered: Redis is back, but the view is not current"
    clock.advance(1.0)  # the feed follower's next try
    link.read(_entries(1, 2))
    assert not store.ready and store.state.position == 2, "two of the three changes read"
    link.read(_entries(3, 1))
    assert store.ready and store.state.position == 3
    assert all(registry.readiness(3 * TTL))
    assert len(registry.unready) == 1


def test_a_read_that_finds_a_gap_does_not_make_it_ready(registry: Registry) -> None:
    """
    Back from a cut, the feed skips changes (trimmed meanwhile): not ready until the snapshot is loaded.
    """
    clock, link, store = registry.clock, registry.link, registry.store
    link.cut()
    for _ in range(40):
        clock.advance(0.1)
        link.fail_reads()
    assert not store.ready
    link.beat_reply = ["ok", EPOCH, 0, 0, 0, 0, 5, 5]
    clock.advance(1.0)
    link.read(_entries(5, 1))
    assert not store.ready and link.pending("snapshot")
    link.pending("snapshot")[0].callback(["ok", EPOCH, 0, 0, 5, 5, "5-0", [], [], []])
    assert store.ready and store.state.position == 5
