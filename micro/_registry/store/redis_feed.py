# -*- test-case-name: tests.registry.store.test_redis_readiness -*-
"""
Following the change feed in Redis: a snapshot first, then every entry
of the stream in order, resuming after the last one read.

The view is loaded again from a snapshot when the feed cannot be
followed: an entry was missed (trimmed away while this registry was cut
off), an entry is of another epoch (Redis lost its data and a new epoch
began), or applying one did not give the version the store recorded.

The view is current as of the answer to the last read that reached the
end of the feed (or to the snapshot it was loaded from): L{current_at}.
A read blocks in Redis for up to a second when no change comes, so a
followed feed is current as of a second or so ago.
"""

from __future__ import annotations

import json
from typing import Any

from attrs import define, field
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import deferLater
from twisted.logger import Logger

from micro._kernel.deferreds import Latch, Loop
from micro._kernel.errors import HttpError
from micro._registry.store.interface import Entry, StoreUnavailable
from micro._registry.store.redis_link import RedisLink
from micro._registry.store.replica import Replica

# Short: while Redis is out of reach, a read fails at once without going
# anywhere, and the view should be current again as soon as the pool has
# connected again (RECONNECT_MAX at most after Redis is back).
RETRY_DELAYS = (0.1, 0.25)
# Entries asked for per read: a reply this long may not reach the end.
READ_COUNT = 1000
# Results of this registry's own changes, kept until their caller asks.
MAX_KEPT_RESULTS = 4096


def snapshot_of(reply: list[Any]) -> tuple[dict[str, Any], str, float]:
    """
    The view in a C{snapshot} reply, the feed id it was taken at, and the
    age of its epoch in seconds.
    """
    _, epoch, epoch_at, now, version, position, last_id, instances, routes, subs = reply
    rows = []
    for i in range(0, len(instances), 2):
        record = json.loads(instances[i + 1])
        rows.append([record["s"], instances[i], record["n"], record["o"]])
    route_rows = []
    for i in range(0, len(routes), 2):
        route = json.loads(routes[i + 1])
        route_rows.append([routes[i], route["s"], route["d"], list(route["o"] or []), bool(route["p"])])
    sub_rows = []
    for i in range(0, len(subs), 2):
        pattern, location = subs[i].split("\n", 1)
        sub_rows.append([pattern, location, subs[i + 1]])
    snapshot = {"epoch": epoch, "version": int(version), "position": int(position), "instances": rows,
                "routes": route_rows, "subscriptions": sub_rows}
    return snapshot, str(last_id), max(0.0, (int(now) - int(epoch_at)) / 1000)


@define
class FeedFollower:
    """
    Keep C{replica} in step with the feed; hand this registry's own
    changes their results.
    """

    _link: RedisLink
    _replica: Replica
    registry_id: str
    _clock: Any
    _candidate_epoch: Any
    last_id: str = "0-0"
    synced: bool = field(default=False, init=False)
    stale: bool = field(default=True, init=False)
    current_at: float | None = field(default=None, init=False)
    _results: dict[int, Any] = field(factory=dict, init=False)
    _waiting: dict[int, Deferred[Any]] = field(factory=dict, init=False)
    _loaded: Latch = field(factory=Latch, init=False)
    _loop: Loop = field(factory=Loop, init=False)

    _log = Logger()

    def start(self) -> None:
        self._loop.start(self._run, lambda f: self._log.failure("the feed follower stopped", f))

    def loaded(self) -> Deferred[None]:
        """
        Fires once the view has been loaded the first time.
        """
        return self._loaded.wait()

    async def stop(self) -> None:
        await self._loop.stop()
        self._fail_waiting("the registry is stopping")

    def result_of(self, position: int) -> Deferred[Any]:
        """
        The result of this registry's change at C{position}, once applied here.
        """
        if position in self._results:
            return _fired(self._results.pop(position))
        d: Deferred[Any] = Deferred(lambda _: self._forget(position))
        if position <= self._replica.state.position and not self.stale:
            d.errback(StoreUnavailable("the registry reloaded its view meanwhile; try again"))
            return d
        self._waiting[position] = d
        return d

    def _forget(self, position: int) -> None:
        self._waiting.pop(position, None)

    async def _run(self) -> None:
        failures = 0
        while self._loop.running:
            try:
                if self.stale:
                    self._loop.current = self._link.script("snapshot", self._candidate_epoch())
                    self._load(await self._loop.current)
                if not self._loop.running:
                    break  # stopped by someone the load woke
                self._loop.current = self._link.read_feed(self.last_id, READ_COUNT)
                reply = await self._loop.current
            except CancelledError:
                continue
            except Exception as e:
                if not self._loop.running:
                    return
                if failures % 20 == 0:
                    self._log.warn("following the store failed ({count}x): {error}", count=failures + 1, error=e)
                self._loop.current = deferLater(self._clock, RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                failures += 1
                try:
                    await self._loop.current
                except CancelledError:
                    pass
                continue
            if failures:
                self._log.info("following the store again after {count} failures", count=failures)
            failures = 0
            entries = reply[0][1] if reply else []
            for stream_id, fields in entries:
                self.last_id = stream_id
                if not self.stale:
                    self._take(json.loads(dict(zip(fields[::2], fields[1::2]))["e"]))
            if len(entries) < READ_COUNT and not self.stale:
                self.current_at = self._clock.seconds()  # nothing was left to read
        self._loop.current = None

    def current_within(self, seconds: float) -> bool:
        """
        Whether the view holds every change the store had C{seconds} ago.
        """
        return self.current_at is not None and self._clock.seconds() - self.current_at < seconds

    def _load(self, reply: list[Any]) -> None:
        snapshot, last_id, age = snapshot_of(reply)
        state = self._replica.state
        new_epoch = snapshot["epoch"] != state.epoch
        recovering = max(0.0, state.ttl - age)
        self._replica.load(snapshot, recovering_for=recovering)
        self.last_id, self.stale = last_id, False
        self._fail_waiting("the registry reloaded its view meanwhile; try again")
        self._log.info("view loaded from the store: epoch {epoch}{new}, version {version}, {count} instances",
                       epoch=snapshot["epoch"], new=" (new)" if new_epoch else "", version=snapshot["version"],
                       count=len(snapshot["instances"]))
        self.synced, self.current_at = True, self._clock.seconds()
        self._loaded.set()

    def _take(self, entry: Entry) -> None:
        state = self._replica.state
        position = entry.get("p", 0)
        if entry.get("ep") != state.epoch or position > state.position + 1:
            self._reload(f"the feed moved to entry {position} of epoch {entry.get('ep')}, "
                         f"the view is at {state.position} of {state.epoch}")
            return
        if position <= state.position:
            return
        mine = entry.get("r") == self.registry_id
        try:
            result = self._replica.apply(entry)
        except HttpError as e:
            self._reload(f"entry {position} ({entry.get('op')}) did not apply: {e}")
            return
        if state.version != entry.get("v"):
            self._reload(f"entry {position} gave version {state.version}, the store's is {entry.get('v')}")
        if mine:
            waiting = self._waiting.pop(position, None)
            if waiting is not None:
                waiting.callback(result)
            else:
                if len(self._results) >= MAX_KEPT_RESULTS:
                    self._results.pop(next(iter(self._results)))
                self._results[position] = result

    def reload(self) -> None:
        """
        Load the view again from a snapshot, now: the read of the feed in
        progress is dropped.
        """
        self.stale = True
        if self._loop.current is not None and not self._loop.current.called:
            self._loop.current.cancel()

    def _reload(self, why: str) -> None:
        self._log.warn("reloading the view from the store: {why}", why=why)
        self.stale = True

    def _fail_waiting(self, why: str) -> None:
        waiting, self._waiting = self._waiting, {}
        self._results.clear()
        for d in waiting.values():
            d.errback(StoreUnavailable(why))


def _fired(result: Any) -> Deferred[Any]:
    d: Deferred[Any] = Deferred()
    d.callback(result)
    return d
