"""
micro bench against an in-memory cluster, on its fake clock: the counts,
rates and percentiles follow from the time each call takes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from twisted.internet.task import deferLater

from micro import HttpError
from micro.testing import MemoryCluster
from tests._cli import Shell


def _timed(cluster: MemoryCluster, seconds: float = 0.01) -> list[Any]:
    seen: list[Any] = []

    async def timed(payload: Any) -> str:
        seen.append(payload)
        await deferLater(cluster.clock, seconds)
        return "ok"

    def flaky(payload: Any) -> str:
        seen.append(payload)
        if len(seen) % 2:
            raise HttpError(503, "busy")
        return "ok"

    node = cluster.node()
    cluster.result(node.create_service(timed))
    cluster.result(node.create_service(flaky))
    return seen


def test_bench_counts_calls_and_their_latency(cluster: MemoryCluster) -> None:
    """
    -n 20 -c 2 on calls of 10 ms: 20 calls in 0.1 s, 200 a second, every
    percentile 10 ms; the warm-up calls are made first and not counted.
    """
    seen = _timed(cluster)
    running = Shell(cluster).start("--json", "bench", "timed", '{"n": 1}', "-n", "20", "-c", "2", "--warmup", "4")
    cluster.advance(1)
    outcome = running.outcome(cluster)
    figures = json.loads(outcome.text)
    assert outcome.status == 0 and len(seen) == 24 and seen[0] == {"n": 1}
    assert (figures["calls"], figures["errors"], figures["concurrency"]) == (20, 0, 2)
    assert figures["seconds"] == pytest.approx(0.1)
    assert figures["calls_per_second"] == pytest.approx(200)
    for key in ("mean", "p50", "p90", "p99", "max"):
        assert figures[key] == pytest.approx(0.01)


def test_bench_for_a_time_prints_progress(cluster: MemoryCluster) -> None:
    """
    -t 3: calls for three seconds, a progress line each second, then a table.
    """
    _timed(cluster, 0.1)
    running = Shell(cluster).start("bench", "timed", "-t", "3", "--warmup", "0")
    cluster.advance(3.5)
    outcome = running.outcome(cluster)
    assert outcome.status == 0
    assert outcome.lines[0] == "timed: 30 calls in 3s, 1 at a time"
    assert outcome.lines[1].split() == ["CALLS/S", "MEAN", "P50", "P90", "P99", "MAX", "ERRORS"]
    assert outcome.lines[2].split() == ["10", "100ms", "100ms", "100ms", "100ms", "100ms", "0"]
    progress = outcome.stderr.splitlines()
    assert len(progress) >= 2 and all(re.fullmatch(r"timed: \d+ calls, \d+/s now, 0 errors, \ds", line)
                                      for line in progress)
    assert progress[1].endswith(" 2s")


def test_bench_counts_errors_and_exits_1(cluster: MemoryCluster) -> None:
    """
    Failed calls are counted and summed up on stderr, one line per kind; status 1.
    """
    _timed(cluster)
    outcome = Shell(cluster).run("--json", "bench", "flaky", "-n", "10", "--warmup", "0")
    assert outcome.status == 1
    assert json.loads(outcome.text)["errors"] == 5
    assert outcome.stderr == "micro: 5 calls failed: 503: busy\n"


def test_bench_of_an_unknown_service_is_a_404(cluster: MemoryCluster) -> None:
    """
    Nothing to call: one line and status 1, before any call.
    """
    outcome = Shell(cluster).run("bench", "ghost")
    assert (outcome.status, outcome.stderr) == (1, "micro: 404: no service named 'ghost' is registered\n")


def test_bench_interrupted_reports_what_it_measured(cluster: MemoryCluster) -> None:
    """
    Ctrl-C during a bench: the calls made so far are reported, status 0.
    """
    _timed(cluster, 0.1)
    running = Shell(cluster).start("--json", "bench", "timed", "-n", "1000", "--warmup", "0", "-q")
    cluster.advance(1.05)
    running.d.cancel()
    outcome = running.outcome(cluster)
    assert outcome.status == 0 and json.loads(outcome.text)["calls"] == 10
    assert outcome.stderr == ""
