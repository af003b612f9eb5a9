"""
A node counts the calls its instances serve and reports the counts on its
watch (in memory, fake clock).
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.task import deferLater

from micro import HttpError
from micro._kernel.latency import bucket_of
from micro._node.call_stats import CallCounts, CallStats
from micro.testing import MemoryCluster


def test_counts_record_calls_errors_and_latency_buckets() -> None:
    """
    Each call adds one to its latency bucket; failed ones also to the errors.
    """
    counts = CallCounts()
    counts.record(0.0012, False)
    counts.record(0.0012, True)
    counts.record(2.5, False)
    assert (counts.calls, counts.errors) == (3, 1)
    assert counts.buckets[bucket_of(0.0012)] == 2 and counts.buckets[bucket_of(2.5)] == 1
    assert sum(counts.buckets) == 3


class _Running:
    def __init__(self, name: str, in_flight: int):
        self.name, self.in_flight = name, in_flight


def test_a_report_is_sent_only_when_it_changed() -> None:
    """
    The next watch carries the counts when they changed since the last
    report, and again after the registry may have lost it.
    """
    running = [_Running("svc", 0)]
    stats = CallStats(lambda: running)
    assert stats.report() is None  # nothing to say yet
    stats.of("svc").record(0.001, False)
    first = stats.report()
    buckets = [0] * bucket_of(0.001) + [1]
    assert first == {"svc": {"calls": 1, "errors": 0, "in_flight": 0, "buckets": buckets}}
    assert stats.report() is None
    running[0].in_flight = 2
    assert stats.report() == {"svc": {**first["svc"], "in_flight": 2}}
    stats.report_again()
    assert stats.report() == {"svc": {**first["svc"], "in_flight": 2}}


def test_services_without_calls_are_left_out() -> None:
    """
    A hosted service nobody called yet and nothing runs in costs nothing in the report.
    """
    stats = CallStats(lambda: [_Running("idle", 0), _Running("busy", 1)])
    assert stats.snapshot() == {"busy": {"calls": 0, "errors": 0, "in_flight": 1, "buckets": []}}


def _hosting(cluster: MemoryCluster) -> Any:
    host = cluster.node()

    async def slow(payload: Any) -> str:
        await deferLater(cluster.clock, 0.004)
        return "done"

    def boom(payload: Any) -> None:
        raise HttpError(409, "no")

    cluster.result(host.create_service(slow, "slow"))
    cluster.result(host.create_service(boom, "boom"))
    return host


def test_calls_over_http_and_in_process_are_counted_with_their_time(cluster: MemoryCluster) -> None:
    """
    Calls from another node and from the same process both count, with the
    time the handler took on the node's clock; a raised HttpError is an error.
    """
    host = _hosting(cluster)
    caller = cluster.node(home="http://caller.test")
    calls = [caller.call("slow"), host.call("slow")]
    cluster.advance(0.004)
    assert [cluster.result(d) for d in calls] == ["done", "done"]
    with pytest.raises(HttpError):
        cluster.result(caller.call("boom"))
    with pytest.raises(HttpError):
        cluster.result(host.call("boom"))
    snapshot = host.call_stats.snapshot()
    assert snapshot["slow"]["calls"] == 2 and snapshot["slow"]["errors"] == 0
    assert snapshot["slow"]["buckets"][bucket_of(0.004)] == 2
    assert snapshot["boom"]["calls"] == 2 and snapshot["boom"]["errors"] == 2
    assert caller.call_stats.snapshot() == {}


def test_calls_running_now_are_reported(cluster: MemoryCluster) -> None:
    """
    A call still running shows in the snapshot as in flight, not yet as a call.
    """
    host = _hosting(cluster)
    d = cluster.node(home="http://caller.test").call("slow")
    cluster.settle()
    assert host.call_stats.snapshot()["slow"]["in_flight"] == 1
    assert host.call_stats.snapshot()["slow"]["calls"] == 0
    cluster.advance(0.004)
    assert cluster.result(d) == "done"


def test_the_watch_carries_the_counts_to_the_registry() -> None:
    """
    After calls, the node's next watch reports them: the registry's stats
    show the service's totals; a registry that restarts gets them again.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    host = _hosting(cluster)
    with pytest.raises(HttpError):
        cluster.result(host.call("boom"))
    cluster.advance(stack.hub.hold)  # the watch is answered, the next one reports
    boom = stack.metrics.summary()["services"]["boom"]
    assert (boom["calls"], boom["errors"], boom["instances"]) == (1, 1, 1)

    cluster.stop_registry(stack)
    restarted = cluster.registry().stack
    cluster.advance(2.0)
    assert restarted.metrics.summary()["services"]["boom"]["calls"] == 1
