# -*- test-case-name: tests.integration.test_redis_store -*-
"""
The cluster's state in Redis, shared by any number of registries.

Every change is one call of the cluster script (L{scripts}), which checks
it, makes it and appends it to the change feed (a Redis stream) in one
atomic step; every registry's view follows the feed (L{redis_feed}), and a
change is answered once this registry's view holds it.  Each registry
beats every L{BEAT_INTERVAL}: it says it is alive, publishes how far its
watching nodes are (for C{settle}), and runs the reaper of expired leases.

When Redis is away, reads go on from the view; changes answer 503.  A
registry is ready while its view is current: it read the feed to its end
less than half a lease ago (or less than L{RedisLink.feed_deadline} ago if
that is longer: a read waits up to a second for a change).  One cut off
stops being ready, so that its nodes move to a registry that is; back, it
is ready again once it has read the changes made meanwhile, not before.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections import Counter
from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from micro._kernel.codec import dumps
from micro._kernel.deferreds import with_deadline
from micro._kernel.errors import HttpError
from micro._kernel.validation import host_text, split_url
from micro._registry.records import host_port
from micro._registry.state import DEFAULT_TTL, RegistryState
from micro._registry.store.interface import Entry, StoreUnavailable
from micro._registry.store.redis_address import RedisAddress
from micro._registry.store.redis_feed import FeedFollower
from micro._registry.store.redis_leases import RedisLeases
from micro._registry.store.redis_link import RedisLink
from micro._registry.store.replica import Replica

BEAT_INTERVAL = 0.5
# Without a reap for this long, nobody could renew leases either: every
# lease gets ttl more before the next reap.
REAP_GAP = 1.5
# A dropped watch evicts its node after this long, unless it watches again
# (here or elsewhere): a node that gave up on a slow registry is not evicted.
DROP_GRACE = 1.0
FEED_LENGTH = 100_000
RESERVE_MS = 30_000
# Distinct versions published per registry for settle; the rest are merged.
MAX_ACK_VERSIONS = 64


@define(eq=False)
class RedisStore:
    """
    A registry's share of the state kept in Redis at C{address}.
    """

    address: RedisAddress
    _clock: Any
    ttl: float = DEFAULT_TTL
    registry_id: str = field(factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")
    _link: RedisLink = field(init=False)
    _replica: Replica | None = field(default=None, init=False)
    _feed: FeedFollower | None = field(default=None, init=False)
    _beat: LoopingCall | None = field(default=None, init=False)
    _drops: dict[str, Any] = field(factory=dict, init=False)
    _unready: list[Callable[[], None]] = field(factory=list, init=False)
    _was_ready: bool = field(default=False, init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self._link = RedisLink(self.address, self._clock)

    @property
    def state(self) -> RegistryState:
        assert self._replica is not None
        return self._replica.state

    @property
    def loaded(self) -> bool:
        return self._feed is not None and self._feed.synced

    @property
    def ready(self) -> bool:
        return self._feed is not None and self._feed.current_within(self._current_for)

    @property
    def _current_for(self) -> float:
        """
        How long the view may go without reaching the end of the feed.
        """
        return max(self.ttl / 2, self._link.feed_deadline)

    def describe(self) -> str:
        return self.address.describe()

    def on_unready(self, listener: Callable[[], None]) -> None:
        self._unready.append(listener)

    def attach(self, replica: Replica) -> None:
        self._replica = replica
        replica.state.leases = RedisLeases(self._link, self._clock, self.ttl, self.registry_id,
                                           lambda: self.state.epoch)
        self._feed = FeedFollower(self._link, replica, self.registry_id, self._clock, lambda: secrets.token_hex(8))

    def start(self) -> Deferred[None]:
        """
        Connect, and fire once the view is loaded (retrying until Redis answers).
        """
        assert self._feed is not None
        self._link.connect()
        self._feed.start()
        self._beat = LoopingCall(self._send_beat)
        self._beat.clock = self._clock
        self._beat.start(BEAT_INTERVAL, now=False)
        return self._feed.loaded()

    def change(self, entry: Entry) -> Deferred[Any]:
        return Deferred.fromCoroutine(self._change(entry))

    async def _change(self, entry: Entry) -> Any:
        feed = self._feed
        assert feed is not None
        if not feed.synced:
            raise StoreUnavailable(f"this registry has not loaded the state from its store ({self.describe()}) "
                                   "yet; try again")
        op = entry["op"]
        extra = [":".join(map(str, host_port(entry["location"])))] if op == "register" else []
        reply = await self._link.script(op, self.state.epoch, self.registry_id, FEED_LENGTH, int(self.ttl * 1000),
                                        dumps(entry).decode("utf-8"), *extra)
        if reply[0] == "err":
            raise HttpError(int(reply[1]), reply[2])
        if reply[0] == "epoch":
            feed.reload()
            raise StoreUnavailable("the cluster's state was reset (a new epoch began); try again")
        position = int(reply[1])
        if position == 0:
            return None  # an eviction that did not apply: the node watches elsewhere
        timeout = self._link.timeout
        return await with_deadline(self._clock, feed.result_of(position), timeout, lambda: StoreUnavailable(
            f"the change was made, but this registry's view did not show it within {timeout:g}s"))

    def allocate(self, home: str) -> Deferred[str]:
        return Deferred.fromCoroutine(self._allocate(home))

    async def _allocate(self, home: str) -> str:
        scheme, host, port, _ = split_url(home, "home")
        first = port if port is not None else self.state.ports.base_port + 1
        reply = await self._link.script("allocate", self.state.epoch, host, first, RESERVE_MS)
        if reply[0] == "err":
            raise HttpError(int(reply[1]), reply[2])
        if reply[0] == "epoch":
            assert self._feed is not None
            self._feed.reload()
            raise StoreUnavailable("the cluster's state was reset (a new epoch began); try again")
        return f"{scheme}://{host_text(host)}:{int(reply[1])}"

    def drop(self, node: str, here: RegistryState) -> None:
        previous = self._drops.pop(node, None)
        if previous is not None and previous.active():
            previous.cancel()
        self._drops[node] = self._clock.callLater(DROP_GRACE, self._evict_dropped, node)

    def _evict_dropped(self, node: str) -> None:
        self._drops.pop(node, None)
        record = self.state.node(node)
        if record is not None and record.watching:
            return  # it came back here
        d = self.change({"op": "evict", "node": node, "why": "its watch connection was lost",
                         "holder": self.registry_id})
        d.addErrback(lambda f: self._log.info("could not evict {node}: {error}", node=node,
                                              error=f.getErrorMessage()))

    def lagging_elsewhere(self, version: int, here: RegistryState) -> Deferred[int]:
        d = self._link.script("others", self.registry_id)

        def count(reply: list[Any]) -> int:
            return sum(n for ack in reply[1:] for v, n in json.loads(ack) if v < version)
        return d.addCallbacks(count, lambda _: 0)

    def stop(self) -> Deferred[None]:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        for timer in self._drops.values():
            if timer.active():
                timer.cancel()
        self._drops.clear()
        if self._replica is not None:
            self._replica.state.leases.stop()
        if self._feed is not None:
            await self._feed.stop()
        try:
            await self._link.command("ZREM", self.address.prefix + "registries", self.registry_id)
        except Exception:
            pass
        await self._link.close()

    # -- the beat -----------------------------------------------------------

    def _acks(self) -> str:
        """
        How many nodes watching here hold each version (the lowest first).
        """
        state = self.state
        recent = self._clock.seconds() - (self.ttl / 2 + 2.0)  # nodes that moved elsewhere stop counting
        seen = Counter(n.seen_version for n in state.nodes() if n.watching and n.last_watch >= recent)
        versions = sorted(seen.items())
        if len(versions) > MAX_ACK_VERSIONS:
            head, tail = versions[:MAX_ACK_VERSIONS - 1], versions[MAX_ACK_VERSIONS - 1:]
            versions = head + [(tail[0][0], sum(n for _, n in tail))]
        return json.dumps(versions)

    def _send_beat(self) -> Deferred[None]:
        if self._replica is None:
            return succeed(None)
        ready = self.ready
        if self._was_ready and not ready:
            self._log.warn("not ready: the change feed from the store ({store}) not read for {seconds:g}s; "
                           "sending the watching nodes elsewhere", store=self.describe(), seconds=self._current_for)
            for listener in self._unready:
                listener()
        elif ready and not self._was_ready:
            self._log.info("ready: the view has every change in the store ({store})", store=self.describe())
        self._was_ready = ready
        d = self._link.script("beat", secrets.token_hex(8), self.registry_id, FEED_LENGTH, int(self.ttl * 1000),
                              self.state.ports.base_port, self._acks(), int(REAP_GAP * 1000))
        return d.addCallbacks(self._beaten, self._beat_failed)

    def _beaten(self, reply: list[Any]) -> None:
        epoch, new, reaped = reply[1], int(reply[4]), int(reply[5])
        position, length = int(reply[6]), int(reply[7])
        feed = self._feed
        assert feed is not None
        if new:
            self._log.warn("the store had lost the cluster's state: new epoch {epoch}", epoch=epoch)
        if epoch != self.state.epoch and feed.synced:
            feed.reload()
        elif feed.synced and not feed.stale and self.state.position + 1 < position - length + 1:
            # The next change this view needs was trimmed from the feed (a
            # registry cut off for long, or a feed trimmed by hand): no entry
            # will come to show the gap.
            self._log.warn("change {next} is no longer in the feed; reloading", next=self.state.position + 1)
            feed.reload()
        if reaped:
            self._log.info("reaped {count} expired leases", count=reaped)

    def _beat_failed(self, failure: Any) -> None:
        self._log.debug("beat failed: {error}", error=failure.getErrorMessage())
