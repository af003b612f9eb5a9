# -*- test-case-name: tests.registry.test_metrics -*-
"""
How services are doing, as the registry sees it: the call counts that
nodes report on their watches, added up per service.

A node reports, per service it serves, running totals since it started
(calls, errors, a latency histogram in the buckets of
L{micro._kernel.latency}) and the calls running now; see
L{micro._node.call_stats}.  It reports only when they changed, so a watch
without a report means "as before", and the registry notes the same totals
again at the watch's time.  From the reports of each node within the last
C{window} seconds the registry derives:

  - rates: calls and errors per second, per node, summed per service;
  - recent percentiles (p50, p90, p99): from the difference between the
    histograms at both ends of the window, summed over the nodes;
  - totals that only grow, which a Prometheus exporter can serve as
    counters: a node that leaves (evicted, or gone with its lease) has its
    last totals kept in a per-service sum, so that the totals do not drop.
    They start again from zero only when the registry does.

L{ServiceMetrics.summary} is that aggregate, as the C{stats} command
answers it (and C{micro top} shows it); a dashboard or an exporter reads
the same.  Nothing here costs anything per call: the work is one small
dict per watch, and the sums are made when someone asks.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from attrs import define, field, frozen

from micro._kernel.errors import InvalidArgument
from micro._kernel.latency import BOUNDS, BUCKETS, added, quantile, subtracted, trimmed
from micro._kernel.validation import check_service_name
from micro._registry.state import RegistryState

# Seconds of reports that rates and recent percentiles cover, at least:
# nodes report every hold (2 s by default), so this spans a few reports.
RATE_WINDOW = 5.0

# Reports kept per node, whatever the window: watches come faster during
# a burst of changes.
MAX_REPORTS = 64

# The most services one node may report on.
MAX_REPORTED_SERVICES = 1000

_FIELDS = ("calls", "errors", "in_flight")


@frozen
class Counts:
    """
    One node's totals for one service (or a sum of them).
    """

    calls: int = 0
    errors: int = 0
    in_flight: int = 0
    buckets: tuple[int, ...] = ()

    def plus(self, other: Counts) -> Counts:
        return Counts(self.calls + other.calls, self.errors + other.errors, self.in_flight + other.in_flight,
                      tuple(added(self.buckets, other.buckets)))


@frozen
class _Report:
    at: float
    services: dict[str, Counts]


def parse_report(value: Any) -> dict[str, Counts]:
    """
    The C{stats} of a watch, checked: service names to their counts.

    @raise InvalidArgument: It is not shaped as L{micro._node.call_stats} says.
    """
    if not isinstance(value, dict) or len(value) > MAX_REPORTED_SERVICES:
        raise InvalidArgument(f"watch stats must be an object of at most {MAX_REPORTED_SERVICES} services")
    report = {}
    for service, counts in value.items():
        check_service_name(service)
        if not isinstance(counts, dict):
            raise InvalidArgument(f"watch stats of {service!r} must be an object")
        calls, errors, in_flight = (counts.get(name, 0) for name in _FIELDS)
        buckets = counts.get("buckets", [])
        if not isinstance(buckets, list) or len(buckets) > BUCKETS:
            raise InvalidArgument(f"watch stats buckets of {service!r} must be a list of at most {BUCKETS} counts")
        if not all(_count(n) for n in [calls, errors, in_flight, *buckets]):
            raise InvalidArgument(f"watch stats of {service!r} must be counts (integers, not negative)")
        report[service] = Counts(calls, errors, in_flight, tuple(buckets))
    return report


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@define
class ServiceMetrics:
    """
    The latest reports of every node, and the totals of nodes that left.

    @ivar window: Seconds that rates and recent percentiles cover.
    """

    _state: RegistryState
    _clock: Any
    window: float = RATE_WINDOW
    _reports: dict[str, deque[_Report]] = field(factory=dict, init=False)
    _retired: dict[str, Counts] = field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        self._state.on_evict(self.forget)

    def report(self, node: str, services: dict[str, Counts] | None) -> None:
        """
        Note what C{node} reported on its watch; C{None}: the same as last time.
        """
        history = self._reports.get(node)
        if services is None:
            if history is None:
                return
            services = history[-1].services
        elif history is None:
            history = self._reports[node] = deque(maxlen=MAX_REPORTS)
        now = self._clock.seconds()
        history.append(_Report(now, services))
        # Keep one report at least a window old: the base of the rates.
        while len(history) > 2 and history[1].at <= now - self.window:
            history.popleft()

    def forget(self, node: str) -> None:
        """
        C{node} left: keep its totals with those of other departed nodes.
        """
        history = self._reports.pop(node, None)
        if not history:
            return
        for service, counts in history[-1].services.items():
            gone = Counts(counts.calls, counts.errors, 0, counts.buckets)
            self._retired[service] = self._retired.get(service, Counts()).plus(gone)

    def in_flight(self, node: str, service: str) -> int:
        """
        The calls of C{service} running on C{node}, as it last reported.
        """
        history = self._reports.get(node)
        counts = history[-1].services.get(service) if history else None
        return counts.in_flight if counts is not None else 0

    def summary(self) -> dict[str, Any]:
        """
        Per service: instances, totals (calls, errors, latency buckets),
        calls running now, and over the last window the rates and the
        p50, p90 and p99 latencies in seconds (C{None} without calls).
        """
        totals: dict[str, Counts] = dict(self._retired)
        recent: dict[str, Counts] = {}
        rates: dict[str, list[float]] = {}
        for history in self._reports.values():
            base, latest = history[0], history[-1]
            elapsed = latest.at - base.at
            for service, counts in latest.services.items():
                totals[service] = totals.get(service, Counts()).plus(counts)
                if elapsed <= 0:
                    continue
                # A node leaves out a service it had served no call of.
                before = base.services.get(service) or Counts()
                delta = Counts(max(counts.calls - before.calls, 0), max(counts.errors - before.errors, 0), 0,
                               tuple(subtracted(counts.buckets, before.buckets)))
                recent[service] = recent.get(service, Counts()).plus(delta)
                rate = rates.setdefault(service, [0.0, 0.0])
                rate[0] += delta.calls / elapsed
                rate[1] += delta.errors / elapsed
        names = sorted(set(totals) | set(self._state.table()))
        return {"window": self.window, "bounds": list(BOUNDS),
                "services": {name: self._service(name, totals.get(name, Counts()), recent.get(name),
                                                 rates.get(name)) for name in names}}

    def _service(self, name: str, total: Counts, recent: Counts | None, rates: list[float] | None) -> dict[str, Any]:
        window = list(recent.buckets) if recent is not None else []
        return {
            "instances": len(self._state.locations(name)),
            "calls": total.calls,
            "errors": total.errors,
            "in_flight": total.in_flight,
            "calls_per_second": rates[0] if rates else 0.0,
            "errors_per_second": rates[1] if rates else 0.0,
            "p50": quantile(window, 0.5),
            "p90": quantile(window, 0.9),
            "p99": quantile(window, 0.99),
            "buckets": trimmed(total.buckets),
        }
