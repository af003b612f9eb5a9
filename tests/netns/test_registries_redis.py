"""
Two registries on one Redis, across hosts: a real C{redis-server} on host
6, registries on hosts 1 and 5 sharing it (C{--store redis://...}), the
work service on hosts 2 and 3 whose nodes know both registries (host 2
watches host 1's first, host 3 host 5's), a caller on host 4 (watching
host 1's first) and route requests from host 4 through host 5's front
door.

Pulling host 1's cable takes a registry away without a word: its nodes'
watches hang instead of failing, and it cannot reach Redis either.  The
nodes give up on it after the hold + 1 s and watch host 5's registry,
which already knows them (same store, same leases): nothing is evicted,
no call and no route request fails.  Plugged back, host 1's registry
reaches Redis again, catches up with the feed and its table is whole.
"""

from __future__ import annotations

import re
import time
from typing import Callable

import pytest

from micro._kernel.protocol import READY_PATH
from tests.netns._cluster import Cluster, calls_between
from tests.netns._hosts import REGISTRY_PORT, Host, Network
from tests.netns._redis_host import REDIS_SERVER, start_redis, store_url

pytestmark = pytest.mark.netns

TTL = 4.0
HOLD = TTL / 2
CALL_TIMEOUT = 2.0
# Registered at host 5 while host 1 is unplugged: host 1's registry has to
# catch up with the feed to be whole again.
ADDED = {"type": "route", "path": "/added", "service": "work"}
# What a node logs when it has to register its instances again.
REGISTERED_AGAIN = re.compile(r"registered \d+ instances? again|registering again")


def _cluster(network: Callable[[int], Network]) -> tuple[Cluster, Network]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    hosts = network(6)
    start_redis(hosts[6])
    for number in (1, 5):
        hosts[number].registry("--ttl", str(TTL), "--store", store_url(hosts[6]))
    cluster = Cluster(hosts, hosts[5])
    cluster.start_service(hosts[2], registries=[hosts[1], hosts[5]])
    cluster.start_service(hosts[3], registries=[hosts[5], hosts[1]])
    cluster.start_caller(hosts[4], timeout=CALL_TIMEOUT, registries=[hosts[1], hosts[5]])
    cluster.start_routes(hosts[4], hosts[5])
    return cluster, hosts


def _watched(cluster: Cluster, asked_from: Host, registry: Host, seconds: float = HOLD + 0.5) -> set[str]:
    """
    Every node seen watching at C{registry} over C{seconds} (a node between
    two watches is briefly not watching anywhere).
    """
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen |= cluster.watching(asked_from, registry)
        time.sleep(0.05)
    return seen


def _view(cluster: Cluster, asked_from: Host, registry: Host) -> tuple[dict[str, list[str]], object]:
    """
    The registry's table and its routes.
    """
    status, routes = asked_from.command(registry.url(REGISTRY_PORT), {"routes": True}, timeout=2)
    assert status == 200, routes
    return cluster.whole_table(asked_from, registry), routes


def _rejoin(cluster: Cluster, asked_from: Host, registry: Host, whole: object,
            timeout: float) -> tuple[float, float, list[int]]:
    """
    Poll the registry every 20 ms until it is ready with the C{whole}
    view: when it first said it was ready, when its view was whole, and
    what its readiness probe answered in between.
    """
    ready_at: float | None = None
    answers: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = cluster.probe(asked_from, registry.url(REGISTRY_PORT), READY_PATH)[0]
        if status == 200:
            ready_at = ready_at or time.time()
            if _view(cluster, asked_from, registry) == whole:
                return ready_at, time.time(), [*answers, status]
        if ready_at is not None:
            answers.append(status)
        time.sleep(0.02)
    raise AssertionError(f"the registry on {registry.address} was not ready and whole within {timeout}s")


def _readiness(cluster: Cluster, asked_from: Host, registry: Host, seconds: float) -> list[int]:
    """
    What the registry's readiness probe answered, every 50 ms for C{seconds}.
    """
    answers = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answers.append(cluster.probe(asked_from, registry.url(REGISTRY_PORT), READY_PATH)[0])
        time.sleep(0.05)
    return answers


def test_registry_host_unplugged_costs_nothing(network: Callable[[int], Network],
                                               report: Callable[[str], None]) -> None:
    """
    Host 1 unplugged under load: zero failed calls, zero failed route
    requests at host 5's registry, host 1's nodes (the same ones, not
    registering again) watch host 5 before their leases end, nothing of
    hosts 2 and 3 leaves host 5's table (checked every 50 ms for two
    leases) nor the caller's, and nobody is evicted.  Plugged back, host
    1's registry is ready again, stays ready, and has the whole table,
    a route registered meanwhile included, which its front door serves.
    """
    cluster, hosts = _cluster(network)
    four, one, five = hosts[4], hosts[1], hosts[5]
    both = sorted([cluster.location(hosts[2]), cluster.location(hosts[3])])
    whole = cluster.whole_table(four)
    assert sorted(whole["work"]) == both and cluster.whole_table(four, one) == whole
    at_one, at_five = _watched(cluster, four, one), _watched(cluster, four, five)
    assert len(at_one) == 2 and len(at_five) >= 1 and not at_one & at_five, (at_one, at_five)

    unplugged = time.time()
    one.unplug()
    moved, checked, wrong = None, 0, []
    while time.time() - unplugged < 2 * TTL:
        table = cluster.whole_table(four)
        checked += 1
        if table != whole:
            wrong.append(table)
        if moved is None and at_one <= cluster.watching(four, five):
            moved = time.time()
        time.sleep(0.05)
    assert cluster.probe(four, cluster.registry_url, READY_PATH)[0] == 200
    while_out = calls_between(cluster.calls(), unplugged)
    caller_changes = [line for line in cluster.caller_tables() if line["t"] >= unplugged]
    status, body = four.command(cluster.registry_url, {"register": ADDED})
    assert status == 200, body
    view = _view(cluster, four, five)

    plugged = time.time()
    one.plug()
    ready_again, rejoined, meanwhile = _rejoin(cluster, four, one, view, 2 * TTL + 10)
    readiness = _readiness(cluster, four, one, HOLD)
    added = cluster.probe(four, one.url(REGISTRY_PORT), ADDED["path"])
    summary = cluster.stop_caller()
    routes = cluster.route_summary()
    after = calls_between(cluster.calls(), rejoined)
    logs = {host: host.processes[0].log() for host in (one, five)}

    report(f"unplug registry host 1 (Redis on host 6, registries on hosts 1 and 5): calls ok "
           f"{len(while_out) - sum('failed' in line for line in while_out)}, failed "
           f"{sum('failed' in line for line in while_out)}; its {len(at_one)} nodes watching host 5 after "
           f"{f'{moved - unplugged:.2f}s' if moved else 'never'} (hold {HOLD:g}s + 1s, lease {TTL:g}s); host 5's table "
           f"checked {checked} times over {2 * TTL:g}s, wrong {len(wrong)} times; caller's table changed "
           f"{len(caller_changes)} times")
    report(f"plug host 1 back: ready again after {ready_again - plugged:.2f}s (then not ready "
           f"{len(meanwhile) - meanwhile.count(200)} of {len(meanwhile)} probes), whole table (and the route "
           f"added meanwhile) after {rejoined - plugged:.2f}s, ready {readiness.count(200)} of {len(readiness)} "
           f"probes after; then calls ok "
           f"{len(after)}, failed {sum('failed' in line for line in after)}; whole run calls ok {summary['ok']}, "
           f"failed {summary['failed']}; route requests at host 5, whole run, ok {routes['ok']}, "
           f"failed {routes['failed']}")

    assert moved is not None, "host 1's nodes never watched host 5"
    # A node's lease was last renewed when its watch came in, at most a
    # hold before the cable was pulled: it must watch elsewhere within the
    # lease, or it would be evicted.
    assert moved - unplugged < TTL
    assert wrong == [] and caller_changes == []
    assert summary["failed"] == 0 and summary["ok"] > 0
    assert routes["failed"] == 0 and routes["ok"] > 0
    assert set(readiness) == {200}, readiness
    assert added[0] == 200 and added[1]["host"] in ("2", "3"), added
    assert all("evicted node" not in log for log in logs.values()), logs
    assert not any(REGISTERED_AGAIN.search(service.log()) for service in cluster.services.values())
