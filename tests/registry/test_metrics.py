"""
The registry's per-service aggregate of the call counts nodes report.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.task import Clock

from micro._kernel.errors import HttpError
from micro._kernel.latency import BUCKETS, bucket_of
from micro._registry.metrics import Counts, ServiceMetrics, parse_report
from micro._registry.state import RegistryState


def _metrics(window: float = 5.0) -> tuple[Clock, RegistryState, ServiceMetrics]:
    clock = Clock()
    state = RegistryState(clock)
    return clock, state, ServiceMetrics(state, clock, window=window)


def _counts(calls: int, errors: int = 0, in_flight: int = 0, latency: float = 0.002) -> Counts:
    buckets = [0] * BUCKETS
    buckets[bucket_of(latency)] = calls
    return Counts(calls, errors, in_flight, tuple(buckets))


def test_rates_come_from_the_reports_within_the_window() -> None:
    """
    Two nodes serving one service: the rate is the sum of each node's
    calls per second between its reports; totals and in-flight add up.
    """
    clock, state, metrics = _metrics()
    state.register("svc", "http://a:1", "a")
    state.register("svc", "http://b:1", "b")
    metrics.report("a", {"svc": _counts(100)})
    metrics.report("b", {"svc": _counts(10)})
    clock.advance(2)
    metrics.report("a", {"svc": _counts(300, errors=4, in_flight=2)})
    metrics.report("b", {"svc": _counts(30, in_flight=1)})
    svc = metrics.summary()["services"]["svc"]
    assert svc["instances"] == 2
    assert (svc["calls"], svc["errors"], svc["in_flight"]) == (330, 4, 3)
    assert svc["calls_per_second"] == pytest.approx(110.0)
    assert svc["errors_per_second"] == pytest.approx(2.0)
    assert 0.0015 < svc["p50"] <= 0.002 and 0.0015 < svc["p99"] <= 0.002
    state.stop()


def test_a_watch_without_a_report_means_no_change() -> None:
    """
    A node that reports nothing new is idle: its rate falls to zero once
    its last calls are older than the window.
    """
    clock, state, metrics = _metrics(window=5.0)
    metrics.report("a", {"svc": _counts(0)})
    clock.advance(2)
    metrics.report("a", {"svc": _counts(50)})
    assert metrics.summary()["services"]["svc"]["calls_per_second"] == pytest.approx(25.0)
    for _ in range(4):
        clock.advance(2)
        metrics.report("a", None)
    svc = metrics.summary()["services"]["svc"]
    assert svc["calls_per_second"] == 0.0 and svc["calls"] == 50
    assert svc["p99"] is None  # no call within the window
    metrics.report("ghost", None)  # a node that never reported stays unknown
    assert "ghost" not in str(metrics.summary())
    state.stop()


def test_a_service_first_called_within_the_window_has_its_rate() -> None:
    """
    A service missing from the older report had served no call then: all
    its calls since count towards its rate.
    """
    clock, state, metrics = _metrics()
    metrics.report("a", {"old": _counts(10)})
    clock.advance(2)
    metrics.report("a", {"old": _counts(10), "new": _counts(40)})
    assert metrics.summary()["services"]["new"]["calls_per_second"] == pytest.approx(20.0)
    state.stop()


def test_totals_of_departed_nodes_are_kept_so_totals_never_drop() -> None:
    """
    An evicted node's last totals stay in the service's totals (a counter
    for an exporter); its calls in flight do not.
    """
    clock, state, metrics = _metrics()
    state.register("svc", "http://a:1", "a")
    state.register("svc", "http://b:1", "b")
    metrics.report("a", {"svc": _counts(7, errors=1, in_flight=3)})
    metrics.report("b", {"svc": _counts(5)})
    state.evict("a", "test")
    svc = metrics.summary()["services"]["svc"]
    assert (svc["calls"], svc["errors"], svc["in_flight"], svc["instances"]) == (12, 1, 0, 1)
    assert sum(svc["buckets"]) == 12
    state.stop()


def test_services_in_the_table_without_reports_are_listed() -> None:
    """
    A registered service nobody called shows with its instances and zero counts.
    """
    _, state, metrics = _metrics()
    state.register("quiet", "http://a:1", "a")
    summary = metrics.summary()
    assert summary["services"]["quiet"]["instances"] == 1
    assert summary["services"]["quiet"]["calls"] == 0 and summary["services"]["quiet"]["p50"] is None
    assert summary["window"] == 5.0 and len(summary["bounds"]) == BUCKETS - 1
    state.stop()


@pytest.mark.parametrize("stats, words", [
    ([], "object of at most"),
    ({"a b": {}}, "invalid service name"),
    ({"svc": 3}, "must be an object"),
    ({"svc": {"calls": -1}}, "must be counts"),
    ({"svc": {"calls": True}}, "must be counts"),
    ({"svc": {"buckets": "x"}}, "must be a list"),
    ({"svc": {"buckets": [1] * (BUCKETS + 1)}}, "must be a list"),
    ({"svc": {"buckets": [1.5]}}, "must be counts"),
])
def test_malformed_reports_are_refused(stats: Any, words: str) -> None:
    """
    A report that is not counts of valid services is a 400 saying what is wrong.
    """
    with pytest.raises(HttpError) as caught:
        parse_report(stats)
    assert caught.value.status == 400 and words in caught.value.message
