"""
Chaos with two registries on Redis, end to end: registries A and B share
a redis-server of the test's own; three twistd service processes (two
watching A first, one B); a client with ten concurrent callers watching
A first, and route traffic through A and through B.  Then:

  1. SIGKILL registry A under load: no call fails, no route request at B
     fails, A's nodes watch B within a second, nothing is evicted; A
     started again rejoins (its table is B's);
  2. SHUTDOWN NOSAVE of Redis, and Redis started again, empty: a new
     epoch, the nodes register again, the table is whole within about a
     hold, no call fails;
  3. Redis SIGSTOPped for 3 s: nothing is evicted; a registration during
     it gets a 503, the same one succeeds after;
  4. a service process SIGSTOPped: it leaves both registries' tables
     within ttl + 1 s.

The counts are printed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests._processes import Process, Processes, command, free_port, wait_until
from tests._redis import RedisServer

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

CLIENT = str(Path(__file__).with_name("chaos_client.py"))
ROUTES = str(Path(__file__).with_name("route_client.py"))
TTL, HOLD = 4.0, 2.0

APP = """
import os

from twisted.internet import reactor
from twisted.internet.task import deferLater

import micro


@micro.service
async def chaos(payload, ctx):
    await deferLater(reactor, 0.02)
    return {"pid": os.getpid(), "location": "http://" + ctx.request.headers["host"]}


@micro.route("/chaos/hello")
def hello(payload):
    return {"pid": os.getpid()}
"""

SERVING = re.compile(r"serving chaos at (http://\S+)")


def _table(url: str) -> dict[str, list[str]]:
    status, table = command(url, {"lookup": "all"}, timeout=2)
    assert status == 200, table
    return {name: sorted(locations) for name, locations in table.items()}


def _whole(url: str, count: int = 3) -> bool:
    table = _table(url)
    return len(table.get("chaos", [])) == count and len(table.get("hello", [])) == count


def _health(url: str) -> dict[str, Any]:
    status, reply = command(url, {"health": True}, timeout=2)
    return reply if status == 200 else {}


def _lines(process: Process) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]


def _summary(process: Process) -> dict[str, Any]:
    return next(line["summary"] for line in _lines(process) if "summary" in line)


def _watch(check: Any, seconds: float) -> list[Any]:
    """
    What C{check} returns, every 0.1 s for C{seconds}.
    """
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.append(check())
        time.sleep(0.1)
    return seen


def test_two_registries_on_redis_survive_chaos(processes: Processes, redis_server: RedisServer) -> None:
    """
    Two registries sharing Redis: registry death, Redis restarting empty
    and Redis hanging cost no call and no route request at the registry
    that stays; a hung service leaves both tables within ttl + 1 s.
    """
    work = processes.workdir
    (work / "chaos_app.py").write_text(APP)
    port_a, port_b = free_port(), free_port()
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    store = redis_server.url
    registry_a = processes.registry(port_a, "--store", store)
    processes.registry(port_b, "--store", store)
    services = [processes.service("chaos_app", registries) for registries in (f"{a},{b}", f"{a},{b}", f"{b},{a}")]
    wait_until(lambda: _whole(a) and _whole(b), timeout=30, what="three instances at both registries")
    original = _table(b)
    report: dict[str, Any] = {}

    stop, stop_a = work / "stop", work / "stop-routes-a"
    caller = processes.python("client", CLIENT, "chaos", "10", "10", str(stop), "300",
                              env={"MICRO_REGISTRY_URL": f"{a},{b}"})
    routes_a = processes.python("routes-a", ROUTES, f"{a}/chaos/hello", "4", str(stop_a), "300")
    routes_b = processes.python("routes-b", ROUTES, f"{b}/chaos/hello", "4", str(stop), "300")
    for process in (caller, routes_a, routes_b):
        wait_until(lambda p=process: '"started"' in p.log(), timeout=20, what=f"{process.name} going\n{process.log()}")
    time.sleep(1)

    # 1. SIGKILL registry A under load.
    on_a, on_b = _health(a)["watching"], _health(b)["watching"]
    registry_a.signal(signal.SIGKILL)
    killed = time.time()
    wait_until(lambda: _health(b).get("watching", 0) >= on_a + on_b, timeout=10, interval=0.01,
               what="A's nodes watching B")
    report["a_nodes_watching_b_after_s"] = round(time.time() - killed, 3)
    tables = _watch(lambda: _table(b), 2 * TTL)
    report["evictions_after_sigkill"] = sum(1 for table in tables if table != original)
    stop_a.touch()
    registry_a.wait(5)
    registry_a = processes.registry(port_a, "--store", store)
    restarted = time.time()
    wait_until(lambda: _table(a) == _table(b) == original, timeout=10, interval=0.05, what="A rejoined")
    report["a_restarted_table_whole_s"] = round(time.time() - restarted, 3)

    # 2. Redis SHUTDOWN NOSAVE, then started again, empty.
    epoch = _health(b)["epoch"]
    redis_server.shutdown_nosave()
    time.sleep(0.5)
    redis_server.start()
    back = time.time()
    wait_until(lambda: _health(b).get("epoch") not in (None, epoch) and _table(a) == _table(b) == original,
               timeout=15, interval=0.02, what="the table whole in a new epoch")
    report["redis_restarted_empty_table_whole_s"] = round(time.time() - back, 3)

    # 3. Redis SIGSTOPped for 3 s.
    assert redis_server.process is not None
    probe = {"register": {"type": "route", "path": "/probe", "service": "chaos"}}
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    paused = time.time()
    try:
        during = command(b, probe, timeout=10)
        report["registration_during_redis_pause"] = [during[0], round(time.time() - paused, 3)]
        tables = _watch(lambda: _table(b), max(0.0, 3.0 - (time.time() - paused)))
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    tables += _watch(lambda: _table(b), 2 * TTL)
    report["evictions_around_redis_pause"] = sum(1 for table in tables if table != original)
    after = wait_until(lambda: command(b, probe, timeout=5)[0] == 200 or None, timeout=10, interval=0.2,
                       what="registration after the pause")
    report["registration_after_redis_pause"] = 200 if after else None
    command(b, {"unregister": {"type": "route", "path": "/probe"}})

    stop.touch()
    for process in (caller, routes_a, routes_b):
        assert process.wait(30) == 0, process.log()
    calls, at_a, at_b = _summary(caller), _summary(routes_a), _summary(routes_b)
    report.update(calls_ok=calls["ok"], calls_failed=calls["errors"], routes_at_b_ok=at_b["ok"],
                  routes_at_b_failed=at_b["failed"], routes_at_a_ok=at_a["ok"], routes_at_a_failed=at_a["failed"])

    # 4. A service process SIGSTOPped leaves both tables.
    hung = services[0]
    location = SERVING.search(hung.log()).group(1)  # type: ignore[union-attr]
    hung.signal(signal.SIGSTOP)
    stopped = time.time()
    wait_until(lambda: all(location not in _table(url).get("chaos", []) for url in (a, b)), timeout=15,
               interval=0.02, what="the hung instance gone from both tables")
    report["hung_node_gone_from_both_s"] = round(time.time() - stopped, 3)
    hung.signal(signal.SIGKILL)

    print("registries chaos:", json.dumps(report, indent=1))
    assert report["calls_failed"] == 0 and report["calls_ok"] > 1000
    assert report["routes_at_b_failed"] == 0 and report["routes_at_b_ok"] > 100
    assert report["a_nodes_watching_b_after_s"] <= 1.0
    assert report["evictions_after_sigkill"] == 0 and report["evictions_around_redis_pause"] == 0
    assert report["redis_restarted_empty_table_whole_s"] <= HOLD + 1.0
    assert report["registration_during_redis_pause"][0] == 503
    assert report["registration_after_redis_pause"] == 200
    assert report["hung_node_gone_from_both_s"] <= TTL + 1.0
