"""
The caller of the multi-host tests: calls a service continuously from its
own host and writes down what happened, as JSON lines on standard output.

    python caller_script.py SERVICE CONCURRENCY TIMEOUT STOP_FILE MAX_SECONDS

CONCURRENCY callers each call SERVICE in a loop (timeout TIMEOUT seconds)
until STOP_FILE exists or MAX_SECONDS have passed.  Lines:

    {"ready": t}                                  the node holds a table
    {"table": [locations], "t": t}                this process's table changed
    {"ok": location, "host": h, "clock": c, "t": start, "done": end}
    {"failed": [status, message], "target": location, "t": start, "done": end}
    {"summary": {"ok": n, "failed": n}}           last
"""

import json
import os
import re
import sys
import time

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import LoopingCall, deferLater

import micro

LOCATION = re.compile(r"(https?://[^\s)]+)")


def emit(line):
    print(json.dumps(line), flush=True)


async def run(reactor, service, concurrency, timeout, stop_file, max_seconds):
    node = micro.default_node()
    deadline = time.monotonic() + max_seconds
    counts = {"ok": 0, "failed": 0}
    state = {"table": None}

    def watch_table():
        locations = list(node.table.locations(service))
        if locations != state["table"]:
            state["table"] = locations
            emit({"table": locations, "t": time.time()})

    def running():
        return time.monotonic() < deadline and not os.path.exists(stop_file)

    async def caller():
        while running():
            started = time.time()
            try:
                result = await micro.call_service(service, {}, timeout=timeout)
            except micro.HttpError as e:
                match = LOCATION.search(e.message)
                counts["failed"] += 1
                emit({"failed": [e.status, e.message], "target": match.group(1) if match else None,
                      "t": started, "done": time.time()})
            else:
                counts["ok"] += 1
                emit({"ok": result["location"], "host": result["host"], "clock": result["clock"],
                      "t": started, "done": time.time()})

    await node.ready()
    emit({"ready": time.time()})
    monitor = LoopingCall(watch_table)
    monitor.clock = reactor
    monitor.start(0.005)
    try:
        await gatherResults([Deferred.fromCoroutine(caller()) for _ in range(concurrency)])
    finally:
        monitor.stop()
    emit({"summary": counts})
    await deferLater(reactor, 0)


def main():
    service, concurrency, timeout, stop_file, max_seconds = sys.argv[1:6]
    micro.run(lambda reactor: run(reactor, service, int(concurrency), float(timeout), stop_file, float(max_seconds)))


if __name__ == "__main__":
    main()
