"""
The cheap recorders: buckets found by bisection, cumulated only when
scraped, sums kept, label sets bounded.
"""

from __future__ import annotations

from micro._observe import recorder
from micro._observe.recorder import OTHER, Counter, CounterView, Gauge, Histogram
from tests._metrics import samples, value


def _page(*metrics: object) -> dict[object, float]:
    from prometheus_client import CollectorRegistry, generate_latest

    class Collector:
        def collect(self) -> list[object]:
            return [m.family() for m in metrics]  # type: ignore[attr-defined]

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())  # type: ignore[arg-type]
    return samples(generate_latest(registry))


def test_a_histogram_cumulates_its_buckets_when_scraped() -> None:
    """
    Observations land in their bucket (an upper bound is inclusive); the
    family has cumulated buckets, +Inf, the count and the sum.
    """
    histogram = Histogram("x_seconds", "x", ("service",), bounds=(0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 2.0):
        histogram.observe(("a",), seconds)
    seen = _page(histogram)
    assert [value(seen, "x_seconds_bucket", service="a", le=le) for le in ("0.1", "1.0", "+Inf")] == [2, 3, 4]
    assert value(seen, "x_seconds_count", service="a") == 4
    assert value(seen, "x_seconds_sum", service="a") == 2.65
    assert histogram.count(("a",)) == 4 and histogram.count(("b",)) == 0


def test_counters_views_and_gauges() -> None:
    """
    A counter gets _total; a view and a gauge are read when scraped.
    """
    counter = Counter("y", "y", ("reason",))
    counter.inc(("refused",))
    counter.inc(("refused",), 2)
    kept = {("register",): 5}
    seen = _page(counter, CounterView("z", "z", ("op",), lambda: kept),
                 Gauge("g", "g", (), lambda: 7), Gauge("h", "h", ("service",), lambda: {("s",): 1}))
    assert value(seen, "y_total", reason="refused") == 3
    assert value(seen, "z_total", op="register") == 5
    assert value(seen, "g") == 7 and value(seen, "h", service="s") == 1


def test_label_sets_are_bounded(monkeypatch: object) -> None:
    """
    Past MAX_SERIES label sets, new ones fold into one _other series.
    """
    monkeypatch.setattr(recorder, "MAX_SERIES", 2)  # type: ignore[attr-defined]
    counter, histogram = Counter("c", "c", ("channel",)), Histogram("h", "h", ("channel",))
    for channel in ("a", "b", "c", "d"):
        counter.inc((channel,))
        histogram.observe((channel,), 0.001)
    assert counter.series == {("a",): 1, ("b",): 1, (OTHER,): 2}
    assert set(histogram.series) == {("a",), ("b",), (OTHER,)} and histogram.count((OTHER,)) == 2
