"""
The client of the chaos test: calls a service continuously and writes down
what happened, as JSON lines on standard output.

    python chaos_client.py SERVICE CONCURRENCY TIMEOUT STOP_FILE MAX_SECONDS

CONCURRENCY callers each call SERVICE in a loop (timeout TIMEOUT seconds)
until STOP_FILE exists or MAX_SECONDS have passed.  Lines:

    {"started": t}                        the first call succeeded
    {"table": [locations], "t": t}        this process's table changed
    {"error": [status, message], "target": location, "call": [caller, n], "t": start, "done": end}
    {"summary": {...}}                    last: counts, latencies, ok per second

The service answers with the location it was reached at, so every success
is counted per instance; a failure names its instance in its message.
"""

import json
import os
import re
import sys
import time
from collections import Counter

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import LoopingCall, deferLater

import micro

LOCATION = re.compile(r"(https?://[^\s)]+)")


def emit(line):
    print(json.dumps(line), flush=True)


async def run(reactor, service, concurrency, timeout, stop_file, max_seconds):
    node = micro.default_node()
    deadline = time.monotonic() + max_seconds
    ok_by_location = Counter()
    ok_by_second = Counter()
    latencies = []
    errors = []
    state = {"table": None, "started": False}

    def watch_table():
        locations = list(node.table.locations(service))
        if locations != state["table"]:
            state["table"] = locations
            emit({"table": locations, "t": time.time()})

    def running():
        return time.monotonic() < deadline and not os.path.exists(stop_file)

    async def caller(k):
        n = 0
        while running():
            started = time.time()
            try:
                result = await micro.call_service(service, {"caller": k, "n": n}, timeout=timeout)
            except micro.HttpError as e:
                match = LOCATION.search(e.message)
                line = {"error": [e.status, e.message], "target": match.group(1) if match else None,
                        "call": [k, n], "t": started, "done": time.time()}
                errors.append(line)
                emit(line)
            else:
                done = time.time()
                ok_by_location[result["location"]] += 1
                ok_by_second[int(done)] += 1
                latencies.append(done - started)
                if not state["started"]:
                    state["started"] = True
                    emit({"started": done})
            n += 1

    await node.ready()
    monitor = LoopingCall(watch_table)
    monitor.clock = reactor
    monitor.start(0.002)
    try:
        await gatherResults([Deferred.fromCoroutine(caller(k)) for k in range(concurrency)])
    finally:
        monitor.stop()
    latencies.sort()
    emit({"summary": {
        "ok": sum(ok_by_location.values()),
        "errors": len(errors),
        "ok_by_location": dict(ok_by_location),
        "ok_by_second": {str(k): v for k, v in sorted(ok_by_second.items())},
        "p50": latencies[len(latencies) // 2] if latencies else None,
        "p99": latencies[int(len(latencies) * 0.99)] if latencies else None,
        "max": latencies[-1] if latencies else None,
    }})
    await deferLater(reactor, 0)


def main():
    service, concurrency, timeout, stop_file, max_seconds = sys.argv[1:6]
    micro.run(lambda reactor: run(reactor, service, int(concurrency), float(timeout), stop_file, float(max_seconds)))


if __name__ == "__main__":
    main()
