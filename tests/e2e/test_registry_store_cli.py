"""
twistd micro-registry with a Redis store, as a user meets it: bad --store
input is one line and status 1 before anything starts; --workers N runs
N registry processes on one port and stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests._processes import TWISTD, Processes, command, free_port, wait_until
from tests._redis import RedisServer

pytestmark = pytest.mark.e2e


def _run(processes: Processes, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TWISTD, "-n", "micro-registry", "--listen", f"tcp:{free_port()}:interface=127.0.0.1",
                           *argv], capture_output=True, text=True, timeout=60, cwd=processes.workdir,
                          env=processes.environment(env))


@pytest.mark.parametrize("store, line", [
    ("mysql://db", "twistd micro-registry: --store: store URL 'mysql://db' is not a redis:// URL with a host; "
                   "use redis://HOST:PORT/DB (or memory)"),
    ("redis://127.0.0.1:1/0", "twistd micro-registry: --store: cannot reach Redis at redis://127.0.0.1:1/0: "
                              "Connection refused"),
])
def test_a_bad_store_is_one_line_and_status_1(processes: Processes, store: str, line: str) -> None:
    """
    An invalid or unreachable --store (or MICRO_REGISTRY_STORE) ends the registry at once with one line.
    """
    for done in (_run(processes, "--store", store), _run(processes, env={"MICRO_REGISTRY_STORE": store})):
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [line]


def test_a_wrong_redis_password_is_one_line_and_status_1(processes: Processes, tmp_path: Path) -> None:
    """
    A Redis that refuses the password, or wants one, ends the registry at once with one line.
    """
    server = RedisServer(tmp_path, password="right").start()
    try:
        wrong = _run(processes, "--store", f"redis://:wrong@127.0.0.1:{server.port}/0")
        missing = _run(processes, "--store", f"redis://127.0.0.1:{server.port}/0")
    finally:
        server.stop()
    assert wrong.returncode == missing.returncode == 1
    [refused] = wrong.stderr.strip().splitlines()
    assert refused.startswith(f"twistd micro-registry: --store: Redis at redis://127.0.0.1:{server.port}/0 "
                              "refused the password: WRONGPASS")
    assert missing.stderr.strip().splitlines() == [
        f"twistd micro-registry: --store: Redis at redis://127.0.0.1:{server.port}/0 needs a password: give it "
        "in the URL, redis://:PASSWORD@host:port/db"]


def test_workers_need_a_shared_store(processes: Processes) -> None:
    """
    --workers with the memory store is refused: each worker would hold a cluster of its own.
    """
    done = _run(processes, "--workers", "2")
    assert done.returncode == 1
    assert "--workers needs a shared store" in done.stderr


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def test_workers_serve_one_port_and_stop_together(processes: Processes, redis_server: RedisServer) -> None:
    """
    --workers 3: three registry processes share the port and the state; a change made through one is
    seen through the port from all; SIGTERM stops every one of them.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registry = processes.registry(port, "--store", redis_server.url, "--workers", "3")
    workers = wait_until(lambda: len(_children(registry.pid)) == 2 and _children(registry.pid), timeout=15,
                         what="two worker processes")
    status, _ = command(url, {"register": {"type": "route", "path": "/x", "service": "s"}})
    assert status == 200
    time.sleep(0.5)
    seen = {tuple(r["path"] for r in command(url, {"routes": True})[1]) for _ in range(30)}
    assert seen == {("/x",)}
    registry.signal(signal.SIGTERM)
    registry.wait(20)
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
