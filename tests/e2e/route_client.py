"""
A route client for the end-to-end tests: GETs a URL with CONCURRENCY
loops over persistent connections until STOP_FILE exists (or MAX_SECONDS
pass), and writes what happened as JSON lines:

    python route_client.py URL CONCURRENCY STOP_FILE MAX_SECONDS

    {"started": t}                                   the first request succeeded
    {"failed": status or error, "t": start, "done": end}
    {"summary": {"ok": n, "failed": n}}
"""

import json
import os
import sys
import time

from twisted.internet import task
from twisted.internet.defer import Deferred, gatherResults
from twisted.web.client import Agent, HTTPConnectionPool, readBody

TIMEOUT = 10.0


def emit(line):
    print(json.dumps(line), flush=True)


async def run(reactor, url, concurrency, stop_file, max_seconds):
    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = concurrency
    agent = Agent(reactor, pool=pool)
    deadline = time.monotonic() + max_seconds
    counts = {"ok": 0, "failed": 0}

    async def loop():
        while time.monotonic() < deadline and not os.path.exists(stop_file):
            started = time.time()
            try:
                d = agent.request(b"GET", url.encode())
                d.addTimeout(TIMEOUT, reactor)
                response = await d
                await readBody(response)
                outcome = response.code
            except Exception as e:
                outcome = f"{type(e).__name__}: {e}"
            if outcome == 200:
                if not counts["ok"]:
                    emit({"started": time.time()})
                counts["ok"] += 1
            else:
                counts["failed"] += 1
                emit({"failed": outcome, "t": started, "done": time.time()})

    await gatherResults([Deferred.fromCoroutine(loop()) for _ in range(concurrency)])
    emit({"summary": counts})
    await pool.closeCachedConnections()


def main():
    url, concurrency, stop_file, max_seconds = sys.argv[1:5]
    task.react(lambda reactor: Deferred.fromCoroutine(run(reactor, url, int(concurrency), stop_file,
                                                          float(max_seconds))))


if __name__ == "__main__":
    main()
