"""
End to end: a twistd registry, two twistd service processes hosting the
same service, and client processes.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests._processes import Processes, free_port, instances, wait_until

pytestmark = pytest.mark.e2e

CLIENT = str(Path(__file__).with_name("client_script.py"))

APP = """
import os
import micro

@micro.service
def whoami(payload):
    return {"pid": os.getpid(), "echo": payload}
"""


def _cluster(processes: Processes) -> tuple[str, list]:
    (processes.workdir / "whoami_app.py").write_text(APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port)
    first = processes.service("whoami_app", url)
    wait_until(lambda: len(instances(url, "whoami")) == 1, what="first instance")
    second = processes.service("whoami_app", url)
    wait_until(lambda: len(instances(url, "whoami")) == 2, what="second instance")
    return url, [first, second]


def test_client_sees_health_lookup_and_strict_round_robin(processes: Processes) -> None:
    """
    A client process gets health, a random lookup, the whole table, and
    calls that alternate strictly between the two processes, starting with
    the first registered.
    """
    url, (first, second) = _cluster(processes)
    client = processes.python("client", CLIENT, "probe", "whoami", "8", env={"MICRO_REGISTRY_URL": url})
    assert client.wait(30) == 0, client.log()
    report = json.loads(client.log().strip().splitlines()[-1])

    assert report["health"]["status"] == "ready"
    assert isinstance(report["health"]["timestamp"], int)
    table = report["all"]["whoami"]
    assert len(table) == 2
    assert report["lookup"] in table
    pids = [call["pid"] for call in report["calls"]]
    assert pids == [first.pid, second.pid] * 4
    assert [call["echo"] for call in report["calls"]] == [{"n": n} for n in range(8)]


def test_sigterm_removes_instance_within_a_second_and_calls_keep_succeeding(processes: Processes) -> None:
    """
    After SIGTERM to one process, it is gone from the table within 1 s, and
    a client calling all along sees no failure, every later call landing on
    the other process.
    """
    url, (first, second) = _cluster(processes)
    client = processes.python("client", CLIENT, "loop", "whoami", "4", "4", env={"MICRO_REGISTRY_URL": url})
    wait_until(lambda: client.log().count("\n") > 20, what="client calling")

    first.signal(signal.SIGTERM)
    signalled = time.time()
    gone = wait_until(lambda: len(instances(url, "whoami")) == 1, timeout=5, interval=0.01, what="removal")
    removed_after = time.time() - signalled
    assert gone and removed_after < 1.0, f"removed after {removed_after:.2f}s"
    # twistd ends by re-raising the signal it stopped on.
    assert first.wait(15) == -signal.SIGTERM, first.log()
    assert "whoami at" in first.log() and "stopped" in first.log()

    assert client.wait(30) == 0, client.log()
    lines = [json.loads(line) for line in client.log().splitlines() if line.startswith("{")]
    errors = [line for line in lines if "error" in line]
    assert errors == []
    late = [line["ok"]["pid"] for line in lines if line["t"] > signalled + 1.0]
    assert late and set(late) == {second.pid}
    early = {line["ok"]["pid"] for line in lines if line["t"] < signalled}
    assert early == {first.pid, second.pid}
