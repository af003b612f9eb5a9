"""
The examples run and print what their documentation says.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests._processes import BIN, ROOT, Processes, command, free_port, instances, wait_until
from tests._redis import RedisServer
from tests._rst import code_blocks, literal_blocks

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


def _literal_blocks(path: Path) -> list[list[str]]:
    return literal_blocks(path.read_text(encoding="utf-8"))


def _fresh_clone(processes: Processes) -> Path:
    """
    What a clone looks like after README's fresh-machine command: the
    examples, and a .venv whose bin/activate puts micro's twistd and python
    on the PATH (this test's own virtualenv; PYTHONPATH points it at this
    tree, as the install would).
    """
    clone = processes.workdir / "clone"
    shutil.copytree(ROOT / "examples", clone / "examples")
    (clone / ".venv").symlink_to(BIN.parent)
    return clone


class Shell:
    """
    Commands run as a user types them into bash, each in a process group of
    its own (a terminal); stopped by group when the test ends.
    """

    def __init__(self, processes: Processes, cwd: Path, port: int):
        self.processes, self.cwd, self.port = processes, cwd, port
        self.groups: list[subprocess.Popen[str]] = []
        # A new user's shell: the virtualenv is not on the PATH until activated.
        path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != BIN)
        self.env = processes.environment({"PYTHONPATH": str(ROOT), "PATH": path})

    def script(self, lines: list[str]) -> str:
        return "\n".join(line.replace("9999", str(self.port)) for line in lines)

    def start(self, lines: list[str]) -> subprocess.Popen[str]:
        log = open(self.processes.workdir / f"terminal-{len(self.groups)}.log", "w")
        popen = subprocess.Popen(["bash", "-c", self.script(lines)], cwd=self.cwd, stdout=log,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True, env=self.env)
        self.groups.append(popen)
        return popen

    def run(self, lines: list[str]) -> str:
        done = subprocess.run(["bash", "-c", self.script(lines)], cwd=self.cwd, capture_output=True, text=True,
                              timeout=60, env=self.env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def stop(self) -> None:
        for popen in reversed(self.groups):
            try:
                os.killpg(popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for popen in self.groups:
            try:
                popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)


def _quoting_pids(output: str) -> list[int]:
    lines = output.strip().splitlines()
    found = [re.fullmatch(r"total 14 \(quoted by process (\d+)\)", line) for line in lines]
    assert all(found), output
    return [int(m.group(1)) for m in found if m]


def test_multi_process_walk_through(processes: Processes) -> None:
    """
    examples/multi_process/README.rst, command by command as written (each
    terminal's first lines, then its command), in a fresh clone with
    nothing on the PATH: two shops, a client whose quotes alternate between
    them, the curls, and Ctrl-C of a shop after which the other serves alone.
    """
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (the walk-through runs its curl commands); .ci/run installs it")
    clone = _fresh_clone(processes)
    prefix, commands, _output, curls = _literal_blocks(clone / "examples" / "multi_process" / "README.rst")[:4]
    assert prefix[0] == ". .venv/bin/activate" and commands[0] == "twistd -n micro-registry"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    shell = Shell(processes, clone, port)
    try:
        shell.start(prefix + [commands[0]])
        wait_until(lambda: command(url, {"health": True})[0] == 200, what="registry")
        shops = [shell.start(prefix + [line]) for line in commands[1:3]]
        wait_until(lambda: len(instances(url, "quote")) == 2 and len(instances(url, "prices")) == 2,
                   what="two shops registered")
        pids = _quoting_pids(shell.run(prefix + [commands[3]]))
        assert len(pids) == 4 and pids[0] != pids[1] and pids[:2] == pids[2:]
        table = json.loads(shell.run(prefix + [curls[0]]))
        assert sorted(table) == ["prices", "quote"] and len(table["quote"]) == 2
        assert json.loads(shell.run(prefix + [curls[1]])) == {"apple": 3, "pear": 4, "fig": 7}
        os.killpg(shops[0].pid, signal.SIGINT)  # Ctrl-C in the first shop's terminal
        wait_until(lambda: len(instances(url, "quote")) == 1, what="first shop gone")
        assert len(set(_quoting_pids(shell.run(prefix + [commands[3]])))) == 1
    finally:
        shell.stop()


def test_many_processes_section_of_the_readme(processes: Processes) -> None:
    """
    README "Many processes", its commands as written in one bash from the
    clone's root, then the walk-through's client: quotes from both shops;
    and its shop.py is the example's own.
    """
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    section = readme[readme.index("Many processes: twistd\n"):readme.index("Start-up and shut-down code\n")]
    [shown] = code_blocks(section[:section.index("This is ``examples/multi_process/shop.py``")])
    assert shown in (ROOT / "examples" / "multi_process" / "shop.py").read_text(encoding="utf-8")
    commands = section[section.index("module::\n"):].split("\n\n")[1].splitlines()
    commands = [line[4:] for line in commands if line.strip()]
    assert commands[0] == ". .venv/bin/activate" and commands[-1].endswith("&")
    clone = _fresh_clone(processes)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    shell = Shell(processes, clone, port)
    try:
        shell.start(commands)
        wait_until(lambda: len(instances(url, "quote")) == 2, what="two shops registered")
        client = _literal_blocks(clone / "examples" / "multi_process" / "README.rst")[1][3]
        pids = _quoting_pids(shell.run(commands[:3] + [client]))
        assert len(set(pids)) == 2
    finally:
        shell.stop()


def test_several_registries_share_a_redis(processes: Processes, redis_server: RedisServer) -> None:
    """
    examples/several_registries.py: what was registered through one registry is found, called and routed
    through the other.
    """
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "several_registries.py")], capture_output=True,
                          timeout=60, env=processes.environment({"MICRO_REGISTRY_STORE": redis_server.url}))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == ["B finds it: True", "B calls it: Hello, B",
                                                 "B routes to it: Hello, route"]


def test_observing_prints_probes_metrics_and_the_dashboard(processes: Processes) -> None:
    """
    examples/observing.py: ready probes, the route's three requests and the
    services' six calls each in the metrics, and the dashboard's address.
    """
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "observing.py")], capture_output=True,
                          timeout=60, env=processes.environment())
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert 'registry /_micro/ready: 200 {"status":"ready"}' in out
    assert ('http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",'
            'http_route="/api/greeting"} 3.0') in out
    assert 'rpc_server_call_duration_seconds_count{rpc_method="hello",rpc_response_status_code="200"} 6.0' in out
    assert re.search(r"the dashboard: http://127\.0\.0\.1:\d+/_micro/ui", out)
