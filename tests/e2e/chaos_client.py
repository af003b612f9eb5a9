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

import time
from collections import Counter

from twisted.internet.task import deferLater

from tests._call_loop import call_until_stopped, emit, main


async def run(reactor, service, concurrency, timeout, stop_file, max_seconds):
    ok_by_location = Counter()
    ok_by_second = Counter()
    latencies = []
    errors = []
    state = {"started": False}

    def on_ok(result, started, k, n):
        done = time.time()
        ok_by_location[result["location"]] += 1
        ok_by_second[int(done)] += 1
        latencies.append(done - started)
        if not state["started"]:
            state["started"] = True
            emit({"started": done})

    def on_failed(e, target, started, k, n):
        line = {"error": [e.status, e.message], "target": target, "call": [k, n], "t": started, "done": time.time()}
        errors.append(line)
        emit(line)

    await call_until_stopped(reactor, service, concurrency, timeout, stop_file, max_seconds, on_ok, on_failed)
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


if __name__ == "__main__":
    main(run)
