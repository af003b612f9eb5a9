# -*- test-case-name: tests.registry.test_watch_hub -*-
"""
Long-poll watches: how every node follows the registry's table.

Each node keeps one C{watch} request open, saying which table version it
holds.  The registry answers it when the table moves past that version
(with just the changes) or after C{hold} seconds (with nothing), and the
node asks again at once.  So:

  - a change reaches every node in one write per node, all at once: no node
    waits for another, and nobody is pushed anything it already has;
  - the watch renews the node's lease, so liveness costs one small request
    per node every C{hold} seconds, whatever the size of the table;
  - a watch whose connection drops means the process died: its node is
    evicted at once, not after its lease runs out.

Under churn, answers are spaced at least C{flush_interval} apart so that a
burst of registrations costs a few batched answers per node, not one each.
The spacing follows what broadcasts cost on this machine: several times
the time the last one took, since every answered node at once sends its
next watch, which costs the registry more than the answer did.  A change
after a quiet spell goes out at once.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.logger import Logger

from micro._kernel.errors import HttpError
from micro._kernel.protocol import NOT_READY
from micro._registry.hold_sweep import HoldSweep, TurnBatch
from micro._registry.settles import Settles
from micro._registry.state import RegistryState
from micro._registry.store.interface import ClusterStore
from micro._registry.watch_replies import WatchReplies

# Seconds of registry time per waiting node that a broadcast is allowed to
# take: answering 1,000 nodes costs about 0.1 s, so batches are spaced by
# that much, keeping the registry free for other work during churn.
PER_WATCHER_SPACING = 0.0001

# Broadcasts under churn are spaced by this many times what the last one
# took, keeping them to a bounded share of the registry's time (answers,
# plus the watches they bring back), so that registrations and calls keep
# flowing while 10,000 instances come and go.
BROADCAST_SPACING = 20.0

# Under churn a change waits at most this long for its broadcast, however
# many nodes there are...
MAX_FLUSH_INTERVAL = 2.0

# ...unless it is part of a storm (this many changes within this many
# seconds: thousands of instances coming or going at once).  Then a
# broadcast may wait up to the hold: each one costs an answer and a new
# watch per node, and at 10,000 nodes broadcasting every 2 s would leave
# the registry no time for the registrations themselves.
STORM_CHANGES = 100
STORM_WINDOW = 2.0

# Watches answered per reactor turn during a broadcast.
FLUSH_BATCH = 500

# The longest a watch is held: half the lease by default, but never so long
# that a proxy or a node's own timeout would give up on it first.
MAX_HOLD = 25.0

# A node whose watch was answered counts as watching here (for settle) if
# it watched again within this many seconds after the hold: nodes that
# moved to another registry stop counting.
WATCH_RETURN = 2.0


@define
class _Watch:
    node: str
    version: int
    deferred: Deferred[bytes]
    deadline: float = 0.0


@define
class WatchHub:
    """
    The pending watches of every node, and the answers to them.

    @ivar hold: Seconds a watch waits for a change before it is answered
        with none; below the lease, so that watching keeps a node alive.
    """

    _state: RegistryState
    _clock: Any
    hold: float = 0.0
    min_interval: float = 0.0
    spacing_per_watcher: float = PER_WATCHER_SPACING
    store: ClusterStore | None = None
    _pending: dict[str, _Watch] = field(factory=dict, init=False)
    _flush_call: Any = field(default=None, init=False)
    _last_flush: float = field(default=float("-inf"), init=False)
    _flush_cost: float = field(default=0.0, init=False)
    _recent: deque[float] = field(factory=lambda: deque(maxlen=STORM_CHANGES), init=False)
    _again: bool = field(default=False, init=False)
    replies: WatchReplies = field(init=False)
    _settles: Settles = field(init=False)
    _holds: HoldSweep[_Watch] = field(init=False)
    _unknown: TurnBatch[_Watch] = field(init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        if not self.hold:
            self.hold = min(self._state.ttl / 2, MAX_HOLD)
        if not 0 < self.hold < self._state.ttl:
            raise ValueError(f"watch hold {self.hold}s must be positive and below the lease ({self._state.ttl}s)")
        self.replies = WatchReplies(self._state, self.hold)
        self._settles = Settles(self._state, self._clock, self.store)
        self._holds = HoldSweep(self._clock, self._pending, self._answer)
        self._unknown = TurnBatch(self._clock, self._tell_unknown)
        self._state.on_change(self._changed)
        self._state.on_evict(self._evicted)
        self._state.on_reset(self._reset)
        if self.store is not None:
            self.store.on_unready(self.refuse_all)

    @property
    def flush_interval(self) -> float:
        """
        The least time between two broadcasts; never more than
        L{MAX_FLUSH_INTERVAL} (nor the hold), which bounds how stale a
        table gets under churn.
        """
        spaced = max(len(self._pending) * self.spacing_per_watcher, BROADCAST_SPACING * self._flush_cost)
        longest = self.hold if self.storm else min(self.hold, MAX_FLUSH_INTERVAL)
        return max(self.min_interval, min(spaced, longest))

    @property
    def storm(self) -> bool:
        """
        Whether the table is changing in a storm: L{STORM_CHANGES} changes
        within the last L{STORM_WINDOW} seconds.
        """
        recent = self._recent
        return len(recent) == STORM_CHANGES and recent[0] >= self._clock.seconds() - STORM_WINDOW

    def watching(self) -> int:
        return len(self._pending)

    def watch(self, node_id: str, epoch: str, version: int) -> Deferred[bytes]:
        """
        Answer when the table moves past C{version} of C{epoch}, or after
        C{hold} seconds; renew the node's lease meanwhile.
        """
        registry = self._state
        known = registry.renew(node_id)
        record = registry.node(node_id)
        assert record is not None
        same_epoch = epoch == registry.epoch
        record.watching = True
        record.last_watch = self._clock.seconds()
        record.seen_version = version if same_epoch else -1
        if self._settles:
            self._settles.acknowledged(node_id, record.seen_version)
        previous = self._pending.pop(node_id, None)
        if previous is not None:
            self._answer(previous)

        d: Deferred[bytes] = Deferred(lambda cancelled: self._lost(node_id, cancelled))
        if not same_epoch or not known or version > registry.version:
            d.callback(self.replies.full(known))
            return d
        self._pending[node_id] = _Watch(node_id, version, d, self._clock.seconds() + self.hold)
        self._holds.arm()
        if version < registry.version:
            self._schedule_flush()
        return d

    def settle(self, version: int, timeout: float) -> Deferred[dict[str, Any]]:
        """
        Fire once every watching node, here and at the other registries of
        the store, holds C{version} or later, or after C{timeout} seconds,
        with C{{"settled": bool, "lagging": count}}.
        """
        recent = self._clock.seconds() - (self.hold + WATCH_RETURN)
        lagging = {n.id for n in self._state.nodes()
                   if n.watching and n.seen_version < version and (n.id in self._pending or n.last_watch >= recent)}
        return self._settles.settle(version, timeout, lagging)

    def stop(self) -> None:
        """Answer every pending watch and cancel every timer."""
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        self._holds.stop()
        self._unknown.flush()
        for watch in list(self._pending.values()):
            self._answer(watch)
        self._settles.stop()

    # -- internals --------------------------------------------------------

    def _changed(self) -> None:
        self._recent.append(self._clock.seconds())
        self.replies.changed()
        if self._pending:
            self._schedule_flush()

    def _evicted(self, node_id: str) -> None:
        watch = self._pending.pop(node_id, None)
        if watch is not None and not watch.deferred.called:
            # One table for all evicted in this turn, not one each (bench/bench_scale.py).
            self._unknown.add(watch)
        if self._settles:
            self._settles.acknowledged(node_id, None)

    def _tell_unknown(self, watches: list[_Watch]) -> None:
        for watch in (w for w in watches if not w.deferred.called):
            watch.deferred.callback(self.replies.full(False))

    def refuse_all(self) -> None:
        """
        This registry cannot serve its watchers now: fail every pending
        watch with a 503 that sends the node to another registry.
        """
        for watch in list(self._pending.values()):
            del self._pending[watch.node]
            if not watch.deferred.called:
                watch.deferred.errback(HttpError(503, f"{NOT_READY}: it lost its store; use another registry"))

    def _reset(self) -> None:
        """
        The view was replaced (a new epoch, or a reload): every pending
        watch gets the whole table now.
        """
        self.replies.changed()  # nothing cached from before may answer
        for watch in list(self._pending.values()):
            del self._pending[watch.node]
            if not watch.deferred.called:
                watch.deferred.callback(self.replies.full(True))

    def _lost(self, node_id: str, cancelled: Deferred[bytes]) -> None:
        watch = self._pending.get(node_id)
        if watch is None or watch.deferred is not cancelled:
            return
        del self._pending[node_id]
        record = self._state.node(node_id)
        if record is not None:
            record.watching = False
        if self.store is None:
            self._state.evict(node_id, "its watch connection was lost")
        else:
            self.store.drop(node_id, self._state)

    def _schedule_flush(self) -> None:
        if self._flush_call is not None:
            self._again = True
            return
        now = self._clock.seconds()
        delay = max(0.0, self._last_flush + self.flush_interval - now)
        self._flush_call = self._clock.callLater(delay, self._flush)

    def _flush(self) -> None:
        current = self._state.version
        behind = [w for w in self._pending.values() if w.version < current]
        self._last_flush = self._clock.seconds()
        self._flush_cost = 0.0
        self._again = False
        self._answer_some(behind, 0)

    def _answer_some(self, behind: list[_Watch], start: int) -> None:
        """
        Answer C{FLUSH_BATCH} watches from C{start}, and the rest on later
        reactor turns: the registry keeps answering other requests (and
        reading the replies of its location checks) during a broadcast to
        10,000 nodes.
        """
        began = self._clock.seconds()
        end = start + FLUSH_BATCH
        for watch in behind[start:end]:
            self._answer(watch)
        self._flush_cost += self._clock.seconds() - began
        if end < len(behind):
            self._flush_call = self._clock.callLater(0, self._answer_some, behind, end)
            return
        self._flush_call = None
        if self._again:
            self._schedule_flush()

    def _answer(self, watch: _Watch) -> None:
        if self._pending.get(watch.node) is watch:
            del self._pending[watch.node]
        if not watch.deferred.called:
            # The node has the rest of its lease after the hold to watch
            # again; an answer the registry sent late does not eat into it.
            self._state.extend(watch.node, self._state.ttl - self.hold)
            watch.deferred.callback(self.replies.since(watch.version))
