"""
End to end: pub/sub between a twistd registry and subscribers in separate
processes (twistd services and a script driven through its stdin), with
the test process publishing through the registry's JSON commands.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests._processes import Process, Processes, command, free_port, instances, wait_until

pytestmark = pytest.mark.e2e

SCRIPT = str(Path(__file__).with_name("pubsub_script.py"))
SUBSCRIBER = "_micro.subscriber"

APP = """
import os
import time

from twisted.internet import reactor, task

import micro

TAG = os.environ["SUB_TAG"]
MODE = os.environ.get("SUB_MODE", "ok")


def answer(received):
    return {"tag": TAG, "pid": os.getpid(), "received": received}


@micro.subscribe("orders")
def on_order(message):
    received = time.time()
    if MODE == "slow":
        return task.deferLater(reactor, 2.0, answer, received)
    return answer(received)


if MODE == "broken":
    @micro.subscribe("orders")
    def broken(message):
        raise ValueError("broken handler of " + TAG)


@micro.subscribe("ping")
def ping(message):
    return TAG
"""


def publish(url: str, channel: str, message: Any, timeout: float | None = None) -> dict[str, Any]:
    argument: dict[str, Any] = {"channel": channel, "message": message}
    if timeout is not None:
        argument["timeout"] = timeout
    status, outcome = command(url, {"publish": argument}, timeout=15)
    assert status == 200, outcome
    return outcome  # type: ignore[no-any-return]


def _tags(outcome: dict[str, Any]) -> list[str]:
    return sorted(r["result"]["tag"] if isinstance(r["result"], dict) else r["result"] for r in outcome["results"])


def _start_apps(processes: Processes, url: str, modes: dict[str, str]) -> dict[str, Process]:
    (processes.workdir / "sub_app.py").write_text(APP)
    started = {tag: processes.service("sub_app", url, env={"SUB_TAG": tag, "SUB_MODE": mode})
               for tag, mode in modes.items()}
    wait_until(lambda: sorted(r["result"] for r in publish(url, "ping", None)["results"]) == sorted(modes),
               timeout=30, interval=0.2, what="every subscriber process on ping")
    return started


def _script(processes: Processes, url: str, channel: str, *tags: str) -> tuple[Process, dict[str, str]]:
    log_path = processes.workdir / f"script-{len(processes.started)}.log"
    out = open(log_path, "wb")
    popen = subprocess.Popen([sys.executable, SCRIPT, channel, *tags], cwd=processes.workdir, stdin=subprocess.PIPE,
                             stdout=out, stderr=subprocess.STDOUT,
                             env=processes.environment({"MICRO_REGISTRY_URL": url}))
    out.close()
    process = Process("script", popen, log_path)
    processes.started.append(process)
    ready = wait_until(lambda: _said(process, "ready"), timeout=30, what=f"script ready\n{process.log()}")
    return process, ready


def _said(process: Process, key: str) -> Any:
    for line in process.log().splitlines():
        if line.startswith("{") and key in (document := json.loads(line)):
            return document[key]
    return None


def _tell(process: Process, line: str) -> None:
    assert process.popen.stdin is not None
    process.popen.stdin.write(line.encode() + b"\n")
    process.popen.stdin.flush()


def test_subscribers_in_other_processes_unsubscribe_and_terminate(processes: Processes) -> None:
    """
    A message reaches every handler in two subscriber processes; after one
    handler unsubscribes it no longer runs; after the script terminates its
    pub/sub service (the process still running) only the other process
    receives, and the script's delivery endpoint has left the table.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port)
    script, ids = _script(processes, url, "orders", "A", "B")
    _start_apps(processes, url, {"C": "ok"})

    outcome = publish(url, "orders", {"id": 1})
    assert _tags(outcome) == ["A", "B", "C"] and outcome["errors"] == []
    assert len({r["result"]["pid"] for r in outcome["results"]}) == 2
    assert len(instances(url, SUBSCRIBER)) == 2

    _tell(script, "unsubscribe A")
    wait_until(lambda: _said(script, "unsubscribed"), what="unsubscribe")
    assert _tags(publish(url, "orders", {"id": 2})) == ["B", "C"]

    _tell(script, "terminate")
    wait_until(lambda: _said(script, "terminated"), what="terminate")
    assert _tags(publish(url, "orders", {"id": 3})) == ["C"]
    assert len(instances(url, SUBSCRIBER)) == 1
    assert script.running()
    _tell(script, "exit")
    assert script.wait(15) == 0, script.log()


def test_isolation_slow_subscriber_and_sigkill(processes: Processes) -> None:
    """
    In separate processes: a raising handler is reported while every other
    handler runs; a subscriber taking 2 s does not delay the others (they
    receive the message within half a second); a subscriber killed with
    SIGKILL leaves the channel within its lease; a channel without
    subscribers answers empty lists.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port, "--ttl", "2")
    apps = _start_apps(processes, url, {"fast": "ok", "slow": "slow", "broken": "broken", "victim": "ok"})

    assert publish(url, "nobody.listens", {"x": 1}) == {"results": [], "errors": []}

    started = time.time()
    outcome = publish(url, "orders", {"id": 1})
    took = time.time() - started
    received = {r["result"]["tag"]: r["result"]["received"] - started for r in outcome["results"]}
    assert sorted(received) == ["broken", "fast", "slow", "victim"]
    assert max(received[tag] for tag in ("fast", "broken", "victim")) < 0.5, received
    assert took >= 2.0, took
    [error] = outcome["errors"]
    assert error["status"] == 500 and "ValueError: broken handler of broken" in error["error"]

    victim = {r["location"] for r in outcome["results"] if r["result"]["tag"] == "victim"}.pop()
    apps["victim"].signal(signal.SIGKILL)
    killed = time.time()
    wait_until(lambda: victim not in instances(url, SUBSCRIBER), timeout=4.0, interval=0.05, what="victim evicted")
    print(f"received after: {received}; publish took {took:.2f}s; victim gone after {time.time() - killed:.2f}s")
    assert time.time() - killed <= 2.0 + 1.0
    after = publish(url, "orders", {"id": 2}, timeout=3)
    assert _tags(after) == ["broken", "fast", "slow"]
    assert [e["status"] for e in after["errors"]] == [500]
