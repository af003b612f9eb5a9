"""
The loop of the client scripts that end-to-end and multi-host tests run as
processes: callers calling a service until told to stop, while this
process's table is watched; each script says what to write down.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any, Callable

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import LoopingCall

import micro

# The instance a failed call's message names.
LOCATION = re.compile(r"(https?://[^\s)]+)")


def emit(line: dict[str, Any]) -> None:
    """
    One JSON line on standard output, at once.
    """
    print(json.dumps(line), flush=True)


async def call_until_stopped(reactor: Any, service: str, concurrency: int, timeout: float, stop_file: str,
                             max_seconds: float, on_ok: Callable[[Any, float, int, int], None],
                             on_failed: Callable[[micro.HttpError, str | None, float, int, int], None]) -> None:
    """
    Run C{concurrency} callers, each calling C{service} in a loop with
    C{timeout}, until C{stop_file} exists or C{max_seconds} have passed;
    C{on_ok(result, started, caller, n)} and C{on_failed(error, target,
    started, caller, n)} hear of every call.  Table changes are emitted as
    C{{"table": [...], "t": t}} lines.
    """
    node = micro.default_node()
    deadline = time.monotonic() + max_seconds
    seen: list[Any] = [None]

    def watch_table() -> None:
        locations = list(node.table.locations(service))
        if locations != seen[0]:
            seen[0] = locations
            emit({"table": locations, "t": time.time()})

    async def caller(k: int) -> None:
        n = 0
        while time.monotonic() < deadline and not os.path.exists(stop_file):
            started = time.time()
            try:
                result = await micro.call_service(service, {"caller": k, "n": n}, timeout=timeout)
            except micro.HttpError as e:
                match = LOCATION.search(e.message)
                on_failed(e, match.group(1) if match else None, started, k, n)
            else:
                on_ok(result, started, k, n)
            n += 1

    await node.ready()
    monitor = LoopingCall(watch_table)
    monitor.clock = reactor
    monitor.start(0.002)
    try:
        await gatherResults([Deferred.fromCoroutine(caller(k)) for k in range(concurrency)])
    finally:
        monitor.stop()


def main(run: Callable[..., Any]) -> None:
    """
    Run C{run(reactor, SERVICE, CONCURRENCY, TIMEOUT, STOP_FILE, MAX_SECONDS)}
    with the script's arguments, under L{micro.run}.
    """
    service, concurrency, timeout, stop_file, max_seconds = sys.argv[1:6]
    micro.run(lambda reactor: run(reactor, service, int(concurrency), float(timeout), stop_file, float(max_seconds)))
