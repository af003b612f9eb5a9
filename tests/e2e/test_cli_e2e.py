"""
End to end: the installed C{micro} console script (and C{python -m micro})
against a twistd registry with a token, a twistd service process of
examples/shell/store.py and examples/shell/cache_host.py; every command
once, and the bad inputs.
"""

from __future__ import annotations

import json
import select
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests._processes import BIN, ROOT, Processes, command, free_port, wait_until

pytestmark = pytest.mark.e2e

MICRO = str(BIN / "micro")
TOKEN = "e2e-s3cret"

EXAMPLE = ROOT / "examples" / "shell"


class Cluster:
    def __init__(self, processes: Processes, url: str, token_file: Path):
        self.processes = processes
        self.url = url
        self.token_file = token_file

    def env(self, **extra: str) -> dict[str, str]:
        return self.processes.environment({"MICRO_REGISTRY_URL": self.url, **extra})

    def run(self, *argv: str, runner: list[str] | None = None, token: bool = False, timeout: float = 60,
            **env: str) -> subprocess.CompletedProcess[bytes]:
        head = (runner or [MICRO]) + (["--token-file", str(self.token_file)] if token else [])
        done = subprocess.run(head + list(argv), capture_output=True, timeout=timeout, cwd=self.processes.workdir,
                              env=self.env(**env))
        assert b"Traceback" not in done.stderr, done.stderr.decode()
        return done

    def start(self, *argv: str, token: bool = False) -> subprocess.Popen[bytes]:
        head = [MICRO] + (["--token-file", str(self.token_file)] if token else [])
        return subprocess.Popen(head + list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=self.processes.workdir, env=self.env())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """
    One cluster for the module's tests (starting it is most of their time);
    every process is stopped by its PID at the end.
    """
    processes = Processes(tmp_path_factory.mktemp("cli"))
    try:
        yield from _started(processes)
    finally:
        processes.stop_all()


def _started(processes: Processes) -> Iterator[Cluster]:
    for name in ("store.py", "cache_host.py"):
        shutil.copy(EXAMPLE / name, processes.workdir / name)
    token_file = processes.workdir / "token"
    token_file.write_text(TOKEN + "\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MICRO_REGISTRY_TOKEN": TOKEN, "MICRO_REGISTRY_URL": url}
    processes.registry(port, env=env)
    processes.service("store", url, env=env)
    processes.python("cache", str(processes.workdir / "cache_host.py"), env=env)
    wait_until(lambda: {"quote", "label", "cache", "_micro.subscriber"} <= set(command(url, {"lookup": "all"})[1]),
               what="services")
    yield Cluster(processes, url, token_file)


def _lines(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    return done.stdout.decode().splitlines()


def test_every_command_through_the_console_script(cluster: Cluster) -> None:
    """
    Each command of the installed script does its job against real processes.
    """
    reads = {  # independent of each other: run side by side, each in its own process
        "health": ("health",), "ls": ("--json", "ls", "-l"), "nodes": ("nodes",), "routes": ("routes",),
        "channels": ("channels",), "lookup": ("lookup", "quote"), "call": ("call", "quote", '{"items": ["pear"]}'),
        "bytes": ("call", "label", '{"item": "apple"}'), "get": ("get", "/api/prices?x=1"),
        "post": ("post", "/api/prices", '{"a": 1}'),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(reads, pool.map(lambda argv: cluster.run(*argv), reads.values())))
    assert done["health"].returncode == 0 and _lines(done["health"])[1].split()[:2] == [cluster.url, "ready"]
    long = [json.loads(line) for line in _lines(done["ls"])]
    assert {d["service"] for d in long} >= {"prices", "quote", "label", "api_prices", "cache"}
    assert all(d["status"] == "serving" and d["node"] for d in long)
    assert len(_lines(done["nodes"])) == 3  # header, the service process, the cache host
    assert _lines(done["routes"])[1].split()[:2] == ["/api/prices", "api_prices"]
    assert _lines(done["channels"])[1].split()[:2] == ["orders.*", "1"]
    assert done["lookup"].stdout.decode().startswith("http://127.0.0.1:")
    assert json.loads(done["call"].stdout) == {"total": 4}
    assert done["bytes"].stdout == b"apple: 3\n"
    assert json.loads(done["get"].stdout) == {"apple": 3, "pear": 4}
    assert json.loads(done["post"].stdout) == {"apple": 3, "pear": 4}
    published = json.loads(cluster.run("--json", "publish", "orders.created", '{"id": 7}', token=True).stdout)
    assert [r["result"] for r in published["results"]] == ["shipping order 7 (orders.created)"]
    assert published["errors"] == []
    assert cluster.run("cache", "set", "k", '{"v": 1}').returncode == 0
    assert json.loads(cluster.run("cache", "get", "k").stdout) == {"v": 1}
    assert _lines(cluster.run("cache", "keys")) == ["k"]
    assert _lines(cluster.run("cache", "del", "k")) == ["k"]
    bench = json.loads(cluster.run("--json", "bench", "prices", "-n", "300", "-c", "4", "-q").stdout)
    assert (bench["calls"], bench["errors"]) == (300, 0) and bench["calls_per_second"] > 0

    def prices_calls() -> int:
        stats = json.loads(cluster.run("--json", "top", "--count", "1").stdout)
        return int(stats["services"]["prices"]["calls"])

    # The bench's warm-up and calls (and the quote's and the route's calls)
    # reach top with the node's next watch.
    wait_until(lambda: prices_calls() >= 403, what="the counts reported")


def _first_line(stream: Any, timeout: float = 20.0) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no line within the timeout"
    return str(stream.readline().decode())


def test_subscribe_and_watch_stream_until_stopped(cluster: Cluster) -> None:
    """
    watch prints the subscriber's instance arriving; subscribe prints what
    is published and, on SIGINT, leaves the registry and exits 0.
    """
    watch = cluster.start("watch", "--count", "1")
    assert _first_line(watch.stderr).startswith(f"watching the registry at {cluster.url}")
    subscriber = cluster.start("subscribe", "news", token=True)
    assert _first_line(subscriber.stderr).startswith("subscribed to news at http://127.0.0.1:")
    watched, _ = watch.communicate(timeout=30)
    assert watch.returncode == 0 and watched.decode().splitlines()[-1].split()[1:3] == ["+", "_micro.subscriber"]
    published = cluster.run("publish", "news", '"extra"', token=True)
    assert published.returncode == 0 and published.stdout.decode().splitlines()[1].endswith('null')
    subscriber.send_signal(signal.SIGINT)
    out, err = subscriber.communicate(timeout=30)
    assert subscriber.returncode == 0, err.decode()
    assert out.decode().splitlines() == ['news  "extra"'] and err.decode().splitlines() == ["1 messages"]
    assert "news" not in cluster.run("channels").stdout.decode()


BAD_INPUT: list[tuple[list[str], dict[str, str], int, str]] = [
    (["dance"], {}, 2, "micro: unknown command 'dance'"),
    (["call", "quote", "{items: 1}"], {}, 2, "micro call: the payload is not JSON"),
    (["call", "ghost"], {}, 1, "micro: 404: no service named 'ghost' is registered"),
    (["--registry", "http://127.0.0.1:1", "ls"], {}, 1, "micro: cannot reach the registry at http://127.0.0.1:1"),
    (["publish", "news", "1"], {"MICRO_REGISTRY_TOKEN": "wrong"}, 1, "micro: 403: publish refused"),
    (["publish", "news", "1"], {}, 1, "micro: 401: publish needs the registry token"),
]


def _one_line_error(cluster: Cluster, runner: list[str], argv: list[str], env: dict[str, str], status: int,
                    start: str) -> None:
    done = cluster.run(*argv, runner=runner, **env)
    lines = done.stderr.decode().splitlines()
    assert (done.returncode, done.stdout, len(lines)) == (status, b"", 1), (argv, done)
    assert lines[0].startswith(start), (argv, lines)


def test_bad_input_is_one_line_and_the_documented_status(cluster: Cluster) -> None:
    """
    Unknown command, malformed JSON: 2.  Unknown service, unreachable
    registry, wrong or missing token: 1.  One line on stderr each, nothing
    on stdout, never a traceback.
    """
    for argv, env, status, start in BAD_INPUT:
        _one_line_error(cluster, [MICRO], argv, env, status, start)


def test_python_m_micro_is_the_same_command(cluster: Cluster) -> None:
    """
    python -m micro runs the same command: help, a call, a usage error, a remote error.
    """
    runner = [sys.executable, "-m", "micro"]
    assert b"Usage: micro" in cluster.run("--help", runner=runner).stdout
    assert json.loads(cluster.run("call", "prices", runner=runner).stdout) == {"apple": 3, "pear": 4}
    for argv, env, status, start in BAD_INPUT[1:3]:
        _one_line_error(cluster, runner, argv, env, status, start)
