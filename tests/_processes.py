"""
Real processes for end-to-end tests: twistd registries and services, and
client scripts.  Every process started here is stopped by its PID when the
test ends (the C{processes} fixture).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

from attrs import define, field

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TWISTD = str(BIN / "twistd")


def free_port() -> int:
    """
    A TCP port that was free a moment ago on 127.0.0.1, with a free one
    above it too (services take registry port + 1, + 2, ...).
    """
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port < 60000:
            return port
    raise RuntimeError("no free port found")


def command(url: str, document: Any, *, token: str | None = None, timeout: float = 5.0) -> tuple[int, Any]:
    """
    POST a JSON command with the standard library; return C{(status, body)}.
    """
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST",
                                     headers={"content-type": "application/json"})
    if token:
        request.add_header("micro-registry-token", token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, body.decode("utf-8", "replace")


def wait_until(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05, what: str = "") -> Any:
    """
    Poll C{check} until it returns something true; fail after C{timeout}.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, ValueError) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: last saw {last!r}")


@define(eq=False)
class Process:
    """
    A started process whose output goes to C{log_path}.
    """

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.running():
            os.kill(self.pid, sig)

    def wait(self, timeout: float = 15.0) -> int:
        return self.popen.wait(timeout)

    def stop(self, timeout: float = 15.0) -> int | None:
        """
        SIGTERM, then SIGKILL if it has not exited after C{timeout} seconds.
        """
        if not self.running():
            return self.popen.returncode
        os.kill(self.pid, signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            return self.popen.wait(5)


@define(eq=False)
class Processes:
    """
    Start processes in C{workdir}; stop all of them on L{stop_all}.
    """

    workdir: Path
    env: dict[str, str] = field(factory=dict)
    started: list[Process] = field(factory=list)

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
        env["PYTHONPATH"] = os.pathsep.join([str(self.workdir), str(ROOT)])
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env)
        env.update(extra or {})
        return env

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        log_path = self.workdir / f"{name}-{len(self.started)}.log"
        with open(log_path, "wb") as out:
            popen = subprocess.Popen(argv, cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT,
                                     env=self.environment(env))
        process = Process(name, popen, log_path)
        self.started.append(process)
        return process

    def registry(self, port: int, *args: str, env: dict[str, str] | None = None) -> Process:
        """
        C{twistd -n micro-registry} on 127.0.0.1:C{port}, once it answers.
        """
        url = f"http://127.0.0.1:{port}"
        process = self.start("registry", [TWISTD, "-n", "micro-registry",
                                          "--listen", f"tcp:{port}:interface=127.0.0.1", *args], env)
        wait_until(lambda: process.running() and command(url, {"health": True})[0] == 200,
                   what=f"registry on {port}\n{process.log()}")
        return process

    def service(self, module: str, registry_url: str, *args: str, env: dict[str, str] | None = None) -> Process:
        """
        C{twistd -n micro-service --module MODULE}, not waiting for it.
        """
        return self.start(f"service-{module}", [TWISTD, "-n", "micro-service", "--module", module,
                                                "--registry", registry_url, *args], env)

    def python(self, name: str, script: str, *args: str, env: dict[str, str] | None = None) -> Process:
        return self.start(name, [sys.executable, script, *args], env)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop(timeout=10)


def proc_status(pid: int, field: str) -> int:
    """
    A size from C{/proc/PID/status} (C{VmRSS}, C{VmHWM}, ...), in bytes.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """
    Reset C{VmHWM}, the peak resident size, to the current one: writing 5 to
    C{clear_refs} does that on Linux 4.0 and later.
    """
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def instances(registry_url: str, service: str) -> list[str]:
    status, table = command(registry_url, {"lookup": "all"})
    assert status == 200, table
    return list(table.get(service, []))
