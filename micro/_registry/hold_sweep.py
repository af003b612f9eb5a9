# -*- test-case-name: tests.registry.test_hold_sweep -*-
"""
Ending the holds of pending watches with one timer for all of them.

A timer per watch cost the registry about 0.6 KB per watching node (the
DelayedCall, its bound methods and arguments, and its place in the
reactor's heap): 6 MB at 10,000 nodes, in the registry whose memory grows
with its watchers (bench/bench_scale.py).  Every watch is held equally
long, so watches kept in the order they came (a dict keeps it) are also in
the order their holds end: the first one is always the next due, and one
timer, set for it, is enough.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Protocol, TypeVar


class Held(Protocol):
    deadline: float


W = TypeVar("W", bound=Held)


class HoldSweep(Generic[W]):
    """
    Call C{expire(watch)} for every watch of C{pending} whose C{deadline}
    has passed, all in the turn it passes (answering some later would eat
    into the time their nodes have to watch again before their leases end).

    C{pending} maps a key to its watch in the order they came; C{expire}
    must take the watch out of it.  Call L{arm} after adding a watch.
    """

    __slots__ = ("_clock", "_pending", "_expire", "_call")

    def __init__(self, clock: Any, pending: dict[Any, W], expire: Callable[[W], None]):
        self._clock = clock
        self._pending = pending
        self._expire = expire
        self._call: Any = None

    def arm(self) -> None:
        """
        Make sure the timer is set, for the first watch's deadline.
        """
        if self._call is not None or not self._pending:
            return
        first = next(iter(self._pending.values()))
        self._call = self._clock.callLater(max(0.0, first.deadline - self._clock.seconds()), self._sweep)

    def stop(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _sweep(self) -> None:
        self._call = None
        now = self._clock.seconds()
        pending = self._pending
        while pending:
            key, watch = next(iter(pending.items()))
            if watch.deadline > now:
                break
            self._expire(watch)
            if pending.get(key) is watch:  # expire did not take it out: do it, or this would loop
                del pending[key]
        self.arm()


class TurnBatch(Generic[W]):
    """
    Watches to answer together once this reactor turn is over: with one
    reply made for all of them, where answering each at once would make
    one each (every eviction moves the version).
    """

    __slots__ = ("_clock", "_answer", "_queued", "_call")

    def __init__(self, clock: Any, answer: Callable[[list[W]], None]):
        self._clock = clock
        self._answer = answer
        self._queued: list[W] = []
        self._call: Any = None

    def add(self, watch: W) -> None:
        self._queued.append(watch)
        if self._call is None:
            self._call = self._clock.callLater(0, self.flush)

    def flush(self) -> None:
        """
        Answer the queued watches now.
        """
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        queued, self._queued = self._queued, []
        if queued:
            self._answer(queued)
