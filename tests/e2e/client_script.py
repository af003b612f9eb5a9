"""
A client process for end-to-end tests.

    python client_script.py probe SERVICE CALLS
        health, lookup SERVICE, lookup all, then CALLS calls; one JSON line.
    python client_script.py loop SERVICE SECONDS CONCURRENCY
        call SERVICE for SECONDS with CONCURRENCY callers; a JSON line per
        call: {"t": time, "ok": result} or {"t": time, "error": [status, message]}.
"""

import json
import os
import sys
import time

from twisted.internet.defer import gatherResults

import micro


async def probe(service, calls):
    url = os.environ["MICRO_REGISTRY_URL"]
    report = {
        "health": await micro.http_request(url, {"health": True}),
        "lookup": await micro.http_request(url, {"lookup": service}),
        "all": await micro.http_request(url, {"lookup": "all"}),
        "calls": [await micro.call_service(service, {"n": n}) for n in range(calls)],
    }
    print(json.dumps(report), flush=True)


async def loop(service, seconds, concurrency):
    deadline = time.monotonic() + seconds

    async def caller(k):
        n = 0
        while time.monotonic() < deadline:
            started = time.time()
            try:
                result = await micro.call_service(service, {"caller": k, "n": n}, timeout=10)
                line = {"t": started, "done": time.time(), "ok": result}
            except micro.HttpError as e:
                line = {"t": started, "done": time.time(), "error": [e.status, e.message]}
            print(json.dumps(line), flush=True)
            n += 1

    from twisted.internet.defer import Deferred
    await gatherResults([Deferred.fromCoroutine(caller(k)) for k in range(concurrency)])


def main():
    mode, service = sys.argv[1], sys.argv[2]
    if mode == "probe":
        micro.run(lambda: probe(service, int(sys.argv[3])))
    else:
        micro.run(lambda: loop(service, float(sys.argv[3]), int(sys.argv[4])))


if __name__ == "__main__":
    main()
