"""
The caller of the multi-host tests: calls a service continuously from its
own host and writes down what happened, as JSON lines on standard output.

    python caller_script.py SERVICE CONCURRENCY TIMEOUT STOP_FILE MAX_SECONDS

CONCURRENCY callers each call SERVICE in a loop (timeout TIMEOUT seconds)
until STOP_FILE exists or MAX_SECONDS have passed.  Lines:

    {"table": [locations], "t": t}                this process's table changed
    {"ok": location, "host": h, "clock": c, "t": start, "done": end}
    {"failed": [status, message], "target": location, "t": start, "done": end}
    {"summary": {"ok": n, "failed": n}}           last
"""

import time

from twisted.internet.task import deferLater

from tests._call_loop import call_until_stopped, emit, main


async def run(reactor, service, concurrency, timeout, stop_file, max_seconds):
    counts = {"ok": 0, "failed": 0}

    def on_ok(result, started, k, n):
        counts["ok"] += 1
        emit({"ok": result["location"], "host": result["host"], "clock": result["clock"],
              "t": started, "done": time.time()})

    def on_failed(e, target, started, k, n):
        counts["failed"] += 1
        emit({"failed": [e.status, e.message], "target": target, "t": started, "done": time.time()})

    await call_until_stopped(reactor, service, concurrency, timeout, stop_file, max_seconds, on_ok, on_failed)
    emit({"summary": counts})
    await deferLater(reactor, 0)


if __name__ == "__main__":
    main(run)
