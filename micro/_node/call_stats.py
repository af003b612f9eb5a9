# -*- test-case-name: tests.node.test_call_stats -*-
"""
Counting the calls a node's instances serve, and reporting the counts on
the node's watch.

Per service, a node keeps running totals since it started: calls, calls
that failed, and their latencies in the buckets of L{micro._kernel.latency}.
Counting a call costs two clock reads, a bucket index (a bisection of 34
bounds) and an increment, a few hundred nanoseconds (measured by
bench/bench_calls.py --against: a few percent of an in-process call, a
fraction of a percent of one over HTTP); nothing is sent per call.  The counts travel on the C{watch} the
node sends anyway (every hold, 2 s by default, and after each change), as
C{"stats"}, and only when they changed since the last report the registry
took, so an idle node sends nothing more than before:

    {"watch": {"node": id, "epoch": e, "version": v,
               "stats": {"hello": {"calls": 120, "errors": 1, "in_flight": 2,
                                   "buckets": [0, 3, 90, 27]}}}}

Totals, not differences: a lost watch loses nothing, the next one carries
the same totals and more.  The registry turns them into rates and recent
percentiles (L{micro._registry.metrics}).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable, Iterable, Protocol

from attrs import define, field

from micro._kernel.latency import BOUNDS, BUCKETS, trimmed


class Counted(Protocol):
    """
    What a report needs of a running instance.
    """

    @property
    def name(self) -> str: ...

    @property
    def in_flight(self) -> int: ...


@define(eq=False, slots=True)
class CallCounts:
    """
    Totals of the calls one service served in this process: their latency
    buckets (which add up to the number of calls) and how many failed.
    """

    errors: int = 0
    buckets: list[int] = field(factory=lambda: [0] * BUCKETS)

    @property
    def calls(self) -> int:
        return sum(self.buckets)

    def record(self, seconds: float, failed: bool) -> None:
        """
        Count one call that took C{seconds}, and whether it failed: the
        whole cost of counting a call, with the two clock reads around it.
        """
        self.buckets[bisect_left(BOUNDS, seconds)] += 1
        if failed:
            self.errors += 1


@define(eq=False)
class CallStats:
    """
    The call counts of every service a node hosts, and what its next watch
    should report.

    @ivar _instances: The node's running instances (for calls in flight).
    """

    _instances: Callable[[], Iterable[Counted]]
    _counts: dict[str, CallCounts] = field(factory=dict, init=False)
    _reported: dict[str, Any] | None = field(default=None, init=False)

    def of(self, service: str) -> CallCounts:
        """
        The counts of C{service}, shared by its instances in this process.
        """
        counts = self._counts.get(service)
        if counts is None:
            counts = self._counts[service] = CallCounts()
        return counts

    def snapshot(self) -> dict[str, Any]:
        """
        The counts as a report carries them: services with no call counted
        and none running are left out.
        """
        in_flight: dict[str, int] = {}
        for instance in self._instances():
            in_flight[instance.name] = in_flight.get(instance.name, 0) + instance.in_flight
        report = {}
        for service in sorted(set(self._counts) | set(in_flight)):
            counts = self._counts.get(service) or CallCounts()
            running, calls = in_flight.get(service, 0), counts.calls
            if calls or running:
                report[service] = {"calls": calls, "errors": counts.errors, "in_flight": running,
                                   "buckets": trimmed(counts.buckets)}
        return report

    def report(self) -> dict[str, Any] | None:
        """
        What the next watch carries: the snapshot, or C{None} if it is the
        one the registry took last.
        """
        snapshot = self.snapshot()
        if snapshot == self._reported or (not snapshot and self._reported is None):
            return None
        self._reported = snapshot
        return snapshot

    def report_again(self) -> None:
        """
        The registry may not hold the last report (a watch failed, or the
        registry restarted or forgot this node): send the next one whatever it is.
        """
        self._reported = None
