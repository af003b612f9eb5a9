"""
Shared pieces of the benchmarks: processes on 127.0.0.1, timing, tables.

Every benchmark runs its loads from a separate client process and prints
one table; ratios between rows of one run are what to compare, since
absolute numbers on a shared machine are noisy.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from tests._processes import BIN, ROOT, TWISTD, free_port  # noqa: F401  (one place for both)


def wait_port(port: int, timeout: float = 15.0) -> None:
    """
    Wait until something accepts connections on 127.0.0.1:C{port}.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """
    In a child process, before it runs its program (C{preexec_fn}): ask
    Linux to send it SIGTERM when the benchmark dies, even by SIGKILL, so
    that no server outlives a benchmark killed halfway (a run once left 162
    twistd processes behind).  Elsewhere than Linux it does nothing.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


@contextmanager
def running(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """
    Run a process for the duration of a C{with} block, then stop it by PID
    (SIGTERM, then SIGKILL after 10 s); it also gets SIGTERM should the
    benchmark die first (L{die_with_parent}).
    """
    out = open(log, "wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(list(argv), env=env or environment(), cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                               preexec_fn=die_with_parent)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if log:
            out.close()  # type: ignore[union-attr]


def client(argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """
    Run a client process to completion and return its standard output.
    """
    done = subprocess.run(list(argv), env=env or environment(), capture_output=True, timeout=timeout,
                          preexec_fn=die_with_parent)
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed ({done.returncode}):\n{done.stderr.decode(errors='replace')}")
    return done.stdout.decode()


def machine_pace(steps: int = 10_000_000) -> float:
    """
    Seconds this machine takes for C{steps} steps of a plain Python loop:
    a yardstick for comparing absolute figures of runs on different machines.
    """
    started = time.perf_counter()
    total = 0
    for step in range(steps):
        total += step
    return time.perf_counter() - started


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """
    A plain-text table, columns right-aligned except the first.
    """
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, len(row))]
        lines.append("  ".join(parts))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}"
    return str(value)
