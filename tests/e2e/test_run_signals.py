"""
A program under micro.run stops cleanly on SIGINT and SIGTERM: main's
finally blocks run, its instances unregister and finish in-flight calls,
and it exits 0 without a traceback.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import pytest

from tests._processes import ROOT, Processes, command, free_port, instances, wait_until

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_drains_calls_and_unregisters(processes: Processes, sig: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port)
    program = processes.python("program", str(ROOT / "tests" / "e2e" / "run_script.py"), "1.0",
                               env={"MICRO_REGISTRY_URL": url})
    wait_until(lambda: "serving" in program.log() and instances(url, "slow"), what=f"serving\n{program.log()}")

    replies: list[Any] = []
    caller = threading.Thread(target=lambda: replies.append(command(url, {"call": {"service": "slow", "payload": 7}},
                                                                        timeout=10)))
    caller.start()
    wait_until(lambda: "call started" in program.log(), what="the call in flight")
    program.signal(sig)
    # A second signal while it drains is acknowledged, not a traceback.
    wait_until(lambda: "main cleaned up" in program.log(), what="main cancelled")
    program.signal(sig)
    assert program.wait(15) == 0, program.log()
    caller.join(10)

    assert replies == [(200, {"slept": 7})]
    assert instances(url, "slow") == []  # unregistered, not left to its lease
    log = program.log()
    assert "main cleaned up" in log
    assert "already shutting down" in log
    assert "Traceback" not in log and "Unhandled" not in log and "GeneratorExit" not in log, log
