"""
The examples run and print what their documentation says.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys

import pytest

from tests._processes import ROOT, TWISTD, Processes, free_port, instances, wait_until

pytestmark = pytest.mark.e2e


def test_all_in_one_prints_the_greeting(processes: Processes) -> None:
    """
    examples/all_in_one.py prints the quick start's greeting and exits 0.
    """
    port = free_port()
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "all_in_one.py")], capture_output=True,
                          timeout=60, env=processes.environment({"MICRO_REGISTRY_URL": f"http://127.0.0.1:{port}"}))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == "Hello, World from micro!\n"


def test_a_busy_port_ends_a_script_in_one_line(processes: Processes) -> None:
    """
    examples/all_in_one.py while another process holds the registry's port:
    one line and status 1, not a Twisted traceback.
    """
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, str(ROOT / "examples" / "all_in_one.py")], capture_output=True,
                              text=True, timeout=60,
                              env=processes.environment({"MICRO_REGISTRY_URL": f"http://127.0.0.1:{port}"}))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        f"all_in_one.py: Couldn't listen on 127.0.0.1:{port}: [Errno 98] Address already in use."]


def test_multi_process_walk_through(processes: Processes) -> None:
    """
    The commands of examples/multi_process/README.rst work as written: two
    shop processes, and a client whose quotes alternate between them.
    """
    for name in ("shop.py", "client.py"):
        shutil.copy(ROOT / "examples" / "multi_process" / name, processes.workdir / name)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port)
    # As the README says: no PYTHONPATH pointing at the example's directory.
    env = {"MICRO_REGISTRY_URL": url, "PYTHONPATH": str(ROOT)}
    shops = [processes.start("shop", [TWISTD, "-n", "micro-service", "--module", "shop"], env=env) for _ in range(2)]
    wait_until(lambda: len(instances(url, "quote")) == 2 and len(instances(url, "prices")) == 2,
               what="two shops registered")
    client = processes.python("client", "client.py", "apple", "pear", "fig", env=env)
    assert client.wait(30) == 0, client.log()
    lines = client.log().strip().splitlines()
    pids = [int(m.group(1)) for m in (re.fullmatch(r"total 14 \(quoted by process (\d+)\)", line) for line in lines)
            if m]
    assert len(pids) == 4 and pids[0] != pids[1] and pids[:2] == pids[2:]
    assert set(pids) == {shop.pid for shop in shops}
