# -*- test-case-name: tests.observe.test_recorder -*-
"""
Counters and histograms that cost a dict lookup and an increment to
record, and become Prometheus metric families only when scraped.

prometheus-client's own metrics take a lock and search their buckets
linearly on every observation; micro records from the reactor thread only,
so plain dicts do, and the bucket is found by bisection over the bounds of
L{micro._kernel.latency} (the buckets the nodes report to the registry).

Labels are bounded by construction (service names, route patterns,
channels, a few fixed words), and by count as a last resort: past
L{MAX_SERIES} label sets a metric folds new ones into one series whose
labels all read C{"_other"}.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable, Iterator, Sequence

from attrs import define, field

from micro._kernel.latency import BOUNDS

MAX_SERIES = 2000
OTHER = "_other"

Labels = tuple[str, ...]


def _bounded(series: dict[Labels, Any], labels: Labels) -> Labels:
    return labels if len(series) < MAX_SERIES else (OTHER,) * len(labels)


@define(eq=False)
class Counter:
    """
    A counter per label set (Prometheus adds C{_total} to the name).
    """

    name: str
    documentation: str
    labelnames: tuple[str, ...]
    series: dict[Labels, float] = field(factory=dict)

    def inc(self, labels: Labels, amount: float = 1) -> None:
        series = self.series
        if labels not in series:
            labels = _bounded(series, labels)
        series[labels] = series.get(labels, 0) + amount

    def family(self) -> Any:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, value in sorted(self.series.items()):
            family.add_metric(labels, value)
        return family


@define(eq=False)
class Histogram:
    """
    A latency histogram in seconds per label set: counts per bucket of
    C{bounds} (not cumulated) and one more for slower ones, then the sum.
    """

    name: str
    documentation: str
    labelnames: tuple[str, ...]
    bounds: Sequence[float] = BOUNDS
    series: dict[Labels, list[float]] = field(factory=dict)

    def observe(self, labels: Labels, seconds: float) -> None:
        counts = self.series.get(labels)
        if counts is None:
            labels = _bounded(self.series, labels)
            counts = self.series.get(labels)
            if counts is None:
                counts = self.series[labels] = [0] * (len(self.bounds) + 2)
        counts[bisect_left(self.bounds, seconds)] += 1
        counts[-1] += seconds

    def count(self, labels: Labels) -> int:
        """
        How many observations C{labels} has (for tests and summaries).
        """
        counts = self.series.get(labels)
        return int(sum(counts[:-1])) if counts else 0

    def family(self) -> Any:
        return histogram_family(self.name, self.documentation, self.labelnames, self.bounds,
                                ((labels, counts[:-1], counts[-1]) for labels, counts in sorted(self.series.items())))


def histogram_family(name: str, documentation: str, labelnames: Sequence[str], bounds: Sequence[float],
                     series: Iterator[tuple[Labels, Sequence[float], float | None]]) -> Any:
    """
    A Prometheus histogram family from per-bucket counts (not cumulated,
    one more than C{bounds}) and sums (C{None}: unknown, left out).
    """
    from prometheus_client.core import HistogramMetricFamily

    family = HistogramMetricFamily(name, documentation, labels=list(labelnames))
    edges = [*bounds, float("inf")]
    for labels, counts, total in series:
        # A node's report leaves out trailing empty buckets.
        padded = list(counts) + [0] * (len(edges) - len(counts))
        cumulated, running = [], 0.0
        for bound, count in zip(edges, padded):
            running += count
            cumulated.append((_le(bound), running))
        family.add_metric(list(labels), cumulated, total)
    return family


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


@define(eq=False)
class CounterView:
    """
    A counter kept elsewhere, read when scraped: C{read()} gives label
    sets and totals.
    """

    name: str
    documentation: str
    labelnames: tuple[str, ...]
    read: Callable[[], dict[Labels, float]]

    def family(self) -> Any:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, value in sorted(self.read().items()):
            family.add_metric(labels, value)
        return family


@define(eq=False)
class Gauge:
    """
    A gauge read when scraped: C{read()} gives label sets and values.
    """

    name: str
    documentation: str
    labelnames: tuple[str, ...]
    read: Callable[[], Any]

    def family(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        values = self.read()
        if not self.labelnames:
            values = {(): values}
        for labels, value in sorted(values.items()):
            family.add_metric(labels, value)
        return family
