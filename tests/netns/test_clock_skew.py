"""
Hosts whose clocks disagree keep their leases.

A namespace cannot have a clock of its own, so each process here runs
with its time functions skewed by libfaketime (wall clock and monotonic
clock alike): the registry on host 1 an hour behind, host 2 a day ahead,
host 3 a day behind, the caller on host 4 on time.

Why micro cannot mind: no lease ever compares two hosts' clocks.  The
registry renews a node's lease when its watch comes in or is answered,
and sets the deadline from its own clock (now + ttl, both its own); it
holds a watch for at most the hold, also on its own clock.  A node sends
versions and durations, never a time, and times its watch out on its own
clock (hold + 10 s), which only needs its clock to run at the rate of the
registry's, which an offset leaves alone.  The test shows it: across many
leases nothing leaves any table and no call fails.
"""

from __future__ import annotations

import time
from typing import Callable

import pytest

from tests.netns._cluster import Cluster, calls_between
from tests.netns._hosts import Network, faketime_library, skewed_clock

pytestmark = pytest.mark.netns

TTL = 4.0
WATCHED = 12.0
SKEW = {1: ("-1h", -3600.0), 2: ("+1d", 86400.0), 3: ("-1d", -86400.0)}


def test_skewed_clocks_keep_their_leases(network: Callable[[int], Network], report: Callable[[str], None]) -> None:
    """
    With the registry, the two service hosts and the caller each on a
    different clock, for three leases: both instances stay in the
    registry's table and the caller's, and every call succeeds at both.
    """
    if faketime_library() is None:
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    hosts = network(4)
    cluster = Cluster(hosts, hosts[1])
    registry = cluster.start_registry("--ttl", str(TTL), env=skewed_clock(SKEW[1][0]))
    cluster.start_service(hosts[2], env=skewed_clock(SKEW[2][0]))
    cluster.start_service(hosts[3], env=skewed_clock(SKEW[3][0]))
    both = [cluster.location(hosts[2]), cluster.location(hosts[3])]
    cluster.start_caller(hosts[4])

    started = time.time()
    status, health = hosts[4].command(cluster.registry_url, {"health": True})
    registry_skew = health["timestamp"] / 1000 - time.time()
    seen = []
    while time.time() - started < WATCHED:
        seen.append(cluster.table_at(hosts[4]))
        time.sleep(0.05)
    summary = cluster.stop_caller()
    calls = calls_between(cluster.calls(), started)
    skews = {line["host"]: line["clock"] - line["done"] for line in calls if "ok" in line}
    missing = [table for table in seen if table != both]
    caller_changes = [line for line in cluster.caller_tables() if line["t"] >= started]

    report(f"clocks off by registry {registry_skew:+.0f}s, host 2 {skews.get('2', 0):+.0f}s, "
           f"host 3 {skews.get('3', 0):+.0f}s, caller 0s; over {WATCHED:g}s ({WATCHED / TTL:g} leases of {TTL:g}s): "
           f"registry table checked {len(seen)} times, wrong {len(missing)} times; caller's table changed "
           f"{len(caller_changes)} times; calls ok {summary['ok']}, failed {summary['failed']}")

    assert status == 200 and abs(registry_skew - SKEW[1][1]) < 60
    assert abs(skews["2"] - SKEW[2][1]) < 60 and abs(skews["3"] - SKEW[3][1]) < 60
    assert missing == [] and caller_changes == []
    assert summary["failed"] == 0
    assert {line["ok"] for line in calls if "ok" in line} == set(both)
    assert "evicted node" not in registry.log()
