"""
An app module's life under twistd micro-service, end to end: start-up
code in its own node (@micro.on_start hosting the cache) that drains on
SIGTERM, a start that fails for good ending with status 1, a second
Ctrl-C during a drain, and an import error that says where.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from tests._processes import TWISTD, Processes, command, free_port, instances, wait_until

pytestmark = pytest.mark.e2e

CACHE_APP = '''
import micro

STATE = {}


@micro.on_start
async def setup(node):
    STATE["cache"] = await node.cache_service(expire_time=60_000)


@micro.on_stop
def teardown(node):
    cache = STATE["cache"]
    print("on_stop ran; cache drained:", cache.instance.draining and not cache.evicting, flush=True)


@micro.service
def ping(payload):
    return "pong"
'''

CACHE_CLIENT = '''
import json, sys, time
from twisted.internet.defer import Deferred, gatherResults
import micro

async def caller(k, deadline, lines):
    n = 0
    while time.monotonic() < deadline:
        started = time.time()
        try:
            reply = await micro.call_service("cache", {"set": {f"k{k}": n}}, timeout=10)
            lines.append({"t": started, "done": time.time(), "ok": reply["ok"]})
        except micro.HttpError as e:
            lines.append({"t": started, "done": time.time(), "error": [e.status, e.message]})
        n += 1

async def main():
    lines = []
    deadline = time.monotonic() + float(sys.argv[1])
    print("calling", flush=True)
    await gatherResults([Deferred.fromCoroutine(caller(k, deadline, lines)) for k in range(10)])
    with open("calls.json", "w") as f:
        json.dump(lines, f)

micro.run(main)
'''


def test_on_start_hosts_the_cache_in_the_process_node_and_it_drains_on_sigterm(processes: Processes) -> None:
    """
    @micro.on_start hosting the cache: on SIGTERM the registry sees the
    cache unregister (no eviction), every cache call in flight at the
    signal succeeds, on_stop runs after the drain, and the process exits.
    """
    (processes.workdir / "cacheapp.py").write_text(CACHE_APP)
    (processes.workdir / "cache_client.py").write_text(CACHE_CLIENT)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registry = processes.registry(port)
    service = processes.service("cacheapp", url)
    wait_until(lambda: instances(url, "cache") and instances(url, "ping"), what=f"cache and ping\n{service.log()}")
    [cache_location] = instances(url, "cache")

    client = processes.python("client", "cache_client.py", "3", env={"MICRO_REGISTRY_URL": url})
    wait_until(lambda: "calling" in client.log(), what="client calling")
    time.sleep(0.7)
    signalled = time.time()
    service.signal(signal.SIGTERM)
    assert service.wait(20) == -signal.SIGTERM
    assert client.wait(30) == 0, client.log()

    calls = json.loads((processes.workdir / "calls.json").read_text())
    before = [c for c in calls if c["t"] < signalled]
    in_flight = [c for c in before if c["done"] > signalled]
    assert len(before) > 50 and in_flight, (len(before), len(in_flight))
    assert [c for c in before if "ok" not in c] == []
    log = registry.log()
    assert f"unregistered cache at {cache_location}" in log and "evicted" not in log
    assert "on_stop ran; cache drained: True" in service.log()


def test_a_start_refused_for_good_ends_twistd_with_status_1(processes: Processes) -> None:
    """
    The audit's repro: a registry with a token, a service without it. The
    service logs one critical line and exits 1, instead of staying up with
    nothing registered.
    """
    (processes.workdir / "cacheapp.py").write_text(CACHE_APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port, env={"MICRO_REGISTRY_TOKEN": "s3cret"})
    service = processes.service("cacheapp", url)
    assert service.wait(20) == 1
    log = service.log()
    critical = [line for line in log.splitlines() if "#critical]" in line]
    assert critical == [line for line in critical if "cannot start cacheapp: 401: setup needs the registry token "
                                                     "(header Micro-Registry-Token); exiting with status 1" in line]
    assert len(critical) == 1 and "Traceback" not in log, log


SLOW_APP = '''
import micro
from twisted.internet import reactor
from twisted.internet.task import deferLater


@micro.service
def slowpoke(payload):
    return deferLater(reactor, 3, lambda: "done")
'''


def test_a_second_ctrl_c_while_draining_prints_one_friendly_line(processes: Processes) -> None:
    """
    Ctrl-C twice while a call runs: the second one logs that the process is
    already shutting down, no traceback; the call still gets its answer.
    """
    (processes.workdir / "slowsvc.py").write_text(SLOW_APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port)
    service = processes.service("slowsvc", url)
    wait_until(lambda: instances(url, "slowpoke"), what=f"slowpoke\n{service.log()}")
    outcome: list[object] = []
    calling = threading.Thread(target=lambda: outcome.append(command(url, {"call": {"service": "slowpoke"}},
                                                                     timeout=20)))
    calling.start()
    wait_until(lambda: '"in_flight":1' in _health(instances(url, "slowpoke")[0]), what="call running")
    service.signal(signal.SIGINT)
    wait_until(lambda: "waiting for 1 running call" in service.log(), what=f"draining\n{service.log()}")
    service.signal(signal.SIGINT)
    calling.join(20)
    assert outcome == [(200, "done")]
    assert service.wait(20) == -signal.SIGINT
    log = service.log()
    assert "already shutting down: finishing in-flight requests (SIGKILL stops at once)" in log
    assert "ReactorNotRunning" not in log and "Traceback" not in log, log


def _health(location: str) -> str:
    import urllib.request

    with urllib.request.urlopen(location + "/_micro/health", timeout=5) as response:
        return response.read().decode()


def test_an_app_module_that_fails_to_import_names_the_file_and_line(processes: Processes) -> None:
    """
    The audit's repro: the error is in a module the app imports; the one
    line names that file and line.
    """
    (processes.workdir / "buggy.py").write_text("import micro, helper\n@micro.service\ndef g(p):\n    return 1\n")
    (processes.workdir / "helper.py").write_text("def setup():\n    return undefined_name\nCONFIG = setup()\n")
    done = subprocess.run([TWISTD, "-n", "micro-service", "--module", "buggy"], capture_output=True, text=True,
                          timeout=60, cwd=processes.workdir, env=processes.environment())
    assert (done.returncode, done.stderr.strip().splitlines()) == (1, [
        "twistd micro-service: importing module 'buggy' failed: NameError: name 'undefined_name' is not defined "
        "(helper.py, line 2)"])
    assert os.path.exists(processes.workdir / "helper.py")
