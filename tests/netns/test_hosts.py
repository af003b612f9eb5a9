"""
micro across hosts: a registry on host 1, the work service on hosts 2 and
3, a caller on host 4, each host a network namespace with its own address
(real twistd processes, real TCP between hosts).  Pulling host 3's cable
is the failure no test on 127.0.0.1 can play: a host that vanishes
without a word, whose packets are dropped and whose connections neither
close nor reset.
"""

from __future__ import annotations

import time
from typing import Callable

import pytest

from micro._kernel.protocol import LIVE_PATH, READY_PATH
from tests.netns._cluster import Cluster, calls_between, until
from tests.netns._hosts import Network

pytestmark = pytest.mark.netns

TTL = 4.0
CALL_TIMEOUT = 2.0


def _cluster(network: Callable[[int], Network]) -> tuple[Cluster, Network]:
    hosts = network(4)
    cluster = Cluster(hosts, hosts[1])
    cluster.start_registry("--ttl", str(TTL))
    cluster.start_service(hosts[2])
    cluster.start_service(hosts[3])
    cluster.start_caller(hosts[4], timeout=CALL_TIMEOUT)
    return cluster, hosts


def test_calls_reach_the_advertised_locations(network: Callable[[int], Network],
                                              report: Callable[[str], None]) -> None:
    """
    Each service host advertises its own address (MICRO_SERVICE_URL), the
    registry allocates ports per host, and a caller on a fourth host
    reaches both instances there, round-robin, with no failed call.
    """
    cluster, hosts = _cluster(network)
    started = time.time()
    assert cluster.table_at(hosts[4]) == [cluster.location(hosts[2]), cluster.location(hosts[3])]
    assert cluster.location(hosts[2]) == "http://10.77.0.2:10000"
    for host in (hosts[2], hosts[3]):
        assert cluster.node_table(host, asked_from=hosts[4]) == cluster.table_at(hosts[4])
    time.sleep(1.5)
    summary = cluster.stop_caller()
    calls = calls_between(cluster.calls(), started)
    reached = {(line["ok"], line["host"]) for line in calls if "ok" in line}

    assert reached == {(cluster.location(hosts[2]), "2"), (cluster.location(hosts[3]), "3")}
    assert summary["failed"] == 0
    report(f"calls ok {summary['ok']}, failed {summary['failed']}; tables right at start "
           f"(registry, hosts 2 and 3, caller): {sorted(reached)}")


def test_unplugged_host_leaves_every_table_and_comes_back(network: Callable[[int], Network],
                                                          report: Callable[[str], None]) -> None:
    """
    Host 3 unplugged under load: its instance leaves the registry's table
    and every node's within the lease; the calls on their way to it (the
    ten callers are all waiting on it within milliseconds) end at their
    timeout with a 504 naming it, and from that first timeout on every new
    call goes to host 2 at once, without waiting for the lease.  Plugged
    back, host 3 registers again on its next watch and takes calls again.
    Its probes, asked from the caller's host: live and ready before,
    unanswered while unplugged (Kubernetes would take it out), live and
    ready again once back; host 2 and the registry stay ready throughout.
    """
    cluster, hosts = _cluster(network)
    h2, h3 = cluster.location(hosts[2]), cluster.location(hosts[3])
    time.sleep(1.0)
    for target in (h2, h3, cluster.registry_url):
        assert cluster.probe(hosts[4], target, LIVE_PATH) == (200, {"status": "live"})
        assert cluster.probe(hosts[4], target, READY_PATH) == (200, {"status": "ready"})

    unplugged = time.time()
    hosts[3].unplug()
    registry_right = until(lambda: h3 not in cluster.table_at(hosts[4]), TTL + 2, "registry drops host 3")
    host2_right = until(lambda: h3 not in cluster.node_table(hosts[2], asked_from=hosts[4]), TTL + 2,
                        "host 2 drops host 3")
    assert cluster.probe(hosts[4], h3, READY_PATH)[0] == 0
    assert cluster.probe(hosts[4], h2, READY_PATH)[0] == 200
    assert cluster.probe(hosts[4], cluster.registry_url, READY_PATH)[0] == 200
    time.sleep(CALL_TIMEOUT + 1.0)
    caller_right = next(line["t"] for line in cluster.caller_tables() if line["t"] > unplugged and h3 not in line["table"])
    while_out = calls_between(cluster.calls(), unplugged - CALL_TIMEOUT - 1)
    failed = [line for line in while_out if "failed" in line]
    first_timeout = min((line["done"] for line in failed), default=unplugged)
    after_timeout = calls_between(cluster.calls(), first_timeout)

    plugged = time.time()
    hosts[3].plug()
    back = until(lambda: h3 in cluster.table_at(hosts[4]), 2 * TTL + 12, "host 3 registered again")
    until(lambda: h3 in cluster.node_table(hosts[2], asked_from=hosts[4]), 5, "host 2 lists host 3 again")
    caller_back = until(lambda: any(h3 in line["table"] for line in cluster.caller_tables() if line["t"] > plugged),
                        5, "the caller lists host 3 again")
    assert cluster.probe(hosts[4], h3, LIVE_PATH) == (200, {"status": "live"})
    assert cluster.probe(hosts[4], h3, READY_PATH) == (200, {"status": "ready"})
    time.sleep(1.5)
    summary = cluster.stop_caller()
    after_back = calls_between(cluster.calls(), caller_back)

    report(f"unplug host 3: calls ok {len(while_out) - len(failed)}, failed {len(failed)} (each a 504 at its "
           f"{CALL_TIMEOUT:g}s timeout, all sent to host 3 before the first timed out); tables right after "
           f"registry {registry_right - unplugged:.2f}s, host 2 {host2_right - unplugged:.2f}s, "
           f"caller {caller_right - unplugged:.2f}s (lease {TTL:g}s); from the first timeout "
           f"(+{first_timeout - unplugged:.2f}s) on {len(after_timeout)} new calls, "
           f"{sum(line.get('ok') == h2 for line in after_timeout)} ok at host 2, slowest {_slowest(after_timeout):.3f}s")
    report(f"plug host 3 back: registered again after {back - plugged:.2f}s, in the caller's table after "
           f"{caller_back - plugged:.2f}s; then calls ok {len(after_back)}, failed "
           f"{sum('failed' in line for line in after_back)}, {sum(line.get('ok') == h3 for line in after_back)} "
           f"at host 3; whole run ok {summary['ok']}, failed {summary['failed']}")

    assert registry_right - unplugged <= TTL + 1.0
    assert host2_right - unplugged <= TTL + 1.0
    assert caller_right - unplugged <= TTL + 1.0
    assert failed, "no call was in flight to host 3 when it was unplugged"
    for line in failed:
        assert line["failed"][0] == 504, line
        assert line["failed"][1] == f"call to 'work' failed: no reply from {h3} within {CALL_TIMEOUT:g}s", line
        assert line["target"] == h3 and line["t"] < first_timeout, line
        assert CALL_TIMEOUT - 0.05 <= line["done"] - line["t"] <= CALL_TIMEOUT + 1.0, line
    assert after_timeout and all(line.get("ok") == h2 for line in after_timeout), after_timeout
    assert _slowest(after_timeout) < 1.0
    assert all("ok" in line for line in after_back)
    assert any(line["ok"] == h3 for line in after_back)
    assert summary["failed"] == len(failed)
    assert "its lease expired" in hosts[1].processes[0].log()
    assert "instances again" in cluster.services[3].log()


def _slowest(calls: list[dict[str, float]]) -> float:
    return max((line["done"] - line["t"] for line in calls), default=0.0)
