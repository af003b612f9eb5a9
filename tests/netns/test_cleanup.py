"""
The harness cleans up after itself whatever way a test ends: a child
pytest builds hosts and starts processes in them, then fails, or is
interrupted with SIGINT (Ctrl-C) or SIGTERM; afterwards none of its
namespaces and none of its processes (a twistd registry, a redis-server,
a plain sleeper) are left, and its own end-of-run check said so.  Even a
SIGKILLed run, which can clean nothing, leaves no process (each gets
SIGTERM when the run dies), and the next run deletes its namespaces.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from tests._processes import ROOT, wait_until
from tests.netns._namespaces import Ledger, ip, namespaces, run_prefix, stale_namespaces

pytestmark = pytest.mark.netns

SCENARIO = Path(__file__).with_name("interrupted_scenario.py")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def _run_child(tmp_path: Path, ending: str) -> tuple[subprocess.Popen[bytes], Path, Path]:
    ready = tmp_path / "made.json"
    env = {**os.environ, "NETNS_READY_FILE": str(ready), "NETNS_ENDING": ending}
    log = tmp_path / "child.log"
    with open(log, "wb") as out:
        child = subprocess.Popen([sys.executable, "-m", "pytest", "-q", str(SCENARIO)],
                                 cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return child, ready, log


def _leftovers(child: subprocess.Popen[bytes], pids: list[int]) -> list[str]:
    return [n for n in namespaces() if n.startswith(run_prefix(child.pid))] + [str(p) for p in pids if _alive(p)]


@pytest.mark.parametrize("ending", ["fails", "SIGINT", "SIGTERM", "SIGKILL"])
def test_nothing_is_left_however_a_test_ends(netns_run: Ledger, tmp_path: Path, ending: str,
                                             report: Callable[[str], None]) -> None:
    """
    After a child run whose test failed or which was interrupted with
    hosts and processes up, its namespaces and processes are all gone
    (after a SIGKILL: its processes at once, its namespaces at the next
    run's start).
    """
    child, ready, log = _run_child(tmp_path, ending)
    made: dict[str, list[Any]] = {"namespaces": [], "pids": []}
    try:
        wait_until(lambda: ready.exists() or child.poll() is not None, timeout=60, what="the child run's hosts")
        made = json.loads(ready.read_text())
        assert all(_alive(pid) for pid in made["pids"]) and set(made["namespaces"]) <= set(namespaces())
        if ending == "fails":
            ready.unlink()
        else:
            time.sleep(0.5)
            child.send_signal(getattr(signal, ending))
        status = child.wait(60)
        if ending == "SIGKILL":
            wait_until(lambda: not any(_alive(pid) for pid in made["pids"]), timeout=15,
                       what="the SIGKILLed run's processes to stop")
            stale = [n for n in stale_namespaces() if n.startswith(run_prefix(child.pid))]
            assert sorted(stale) == sorted(made["namespaces"])
            for name in stale:
                ip("netns", "delete", name)
        left = _leftovers(child, made["pids"])
        report(f"child run {ending}: exit status {status}, {len(made['namespaces'])} namespaces and "
               f"{len(made['pids'])} processes ({', '.join(made.get('names', []))}) made; "
               f"left afterwards: {left or 'nothing'}")
        assert left == [], log.read_text()
        if ending != "SIGKILL":
            assert status == (1 if ending == "fails" else 2), log.read_text()
            assert "left: nothing" in log.read_text(), log.read_text()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in made["pids"]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        for name in namespaces():
            if name.startswith(run_prefix(child.pid)):
                ip("netns", "delete", name)
