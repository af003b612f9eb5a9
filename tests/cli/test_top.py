"""
micro top against an in-memory cluster: the registry's per-service stats, refreshed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from twisted.internet.task import deferLater

from micro import HttpError
from micro.testing import MemoryCluster
from tests._cli import Shell


def _busy(cluster: MemoryCluster) -> Any:
    node = cluster.node()

    async def work(payload: Any) -> str:
        await deferLater(cluster.clock, 0.004)
        return "done"

    def fail(payload: Any) -> None:
        raise HttpError(500, "broken")

    cluster.result(node.create_service(work))
    cluster.result(node.create_service(fail))
    pubsub = cluster.result(node.create_pubsub_service())
    cluster.result(pubsub.subscribe("x", lambda m: None))
    caller = cluster.node(home="http://caller.test")
    for _ in range(2):  # two reports, a hold apart
        calls = [caller.call("work") for _ in range(20)] + [caller.call("fail") for _ in range(4)]
        cluster.advance(0.004)
        for d in calls:
            d.addErrback(lambda _: None)
        cluster.advance(cluster.stacks[0].hub.hold)
    return node


def test_top_shows_rates_latency_and_errors(cluster: MemoryCluster) -> None:
    """
    One refresh: busiest service first, its rate, p50 near the handler's
    time, its errors; micro's own services left out.
    """
    _busy(cluster)
    outcome = Shell(cluster).run("top", "--count", "1")
    assert outcome.status == 0
    header, table, work, fail = outcome.lines[:4]
    assert header.startswith("micro top - http://registry.test:9999 - ") and "3 services, 3 instances" in header
    assert table.split() == ["SERVICE", "INSTANCES", "CALLS/S", "ERRORS/S", "P50", "P99", "IN", "FLIGHT", "CALLS",
                             "ERRORS"]
    assert work.split()[:3] == ["work", "1", "10"] and work.split()[-2:] == ["40", "0"]
    assert work.split()[4].endswith("ms") and 3.0 < float(work.split()[4][:-2]) <= 5.0
    assert fail.split()[:4] == ["fail", "1", "2", "2"] and fail.split()[-2:] == ["8", "8"]
    assert "_micro.subscriber" not in outcome.text
    assert "_micro.subscriber" in Shell(cluster).run("top", "-n", "1", "--all").text


def test_top_refreshes_every_interval(cluster: MemoryCluster) -> None:
    """
    --count 3 --interval 2: three documents, two seconds apart (with --json).
    """
    _busy(cluster)
    running = Shell(cluster).start("--json", "top", "--count", "3", "--interval", "2")
    cluster.advance(4)
    documents = [json.loads(line) for line in running.outcome(cluster).lines]
    assert [d["time"] - documents[0]["time"] for d in documents] == pytest.approx([0, 2, 4])
    assert documents[0]["services"]["work"]["calls"] == 40


def test_top_on_a_terminal_redraws_the_screen(cluster: MemoryCluster) -> None:
    """
    On a terminal each refresh clears the screen first, as top does.
    """
    outcome = Shell(cluster, interactive=True).run("top", "-n", "1")
    assert outcome.stdout.startswith(b"\x1b[H\x1b[2J")


def test_top_keeps_trying_while_the_registry_is_away(cluster: MemoryCluster) -> None:
    """
    A registry that goes away after the first refresh: one line saying so, then it carries on.
    """
    running = Shell(cluster).start("top", "--count", "2")
    cluster.settle()
    cluster.stop_registry(cluster.stacks[0])
    cluster.advance(3)
    cluster.registry()
    cluster.advance(1)
    outcome = running.outcome(cluster)
    assert outcome.text.count("micro top - ") == 2
    [error] = outcome.stderr.splitlines()
    assert error.startswith("micro: ") and error.endswith("; trying again")
