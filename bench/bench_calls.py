"""
Calls: micro against the floor of its own stack, in one run.

    python bench/bench_calls.py [--calls N]

Rows, each load from a separate client process (bench/load.py):

  (a) floor: a bare twisted.web.client.Agent (persistent pool) POSTing JSON
      to a bare twisted.web Resource in another process;
  (b) micro.call_service to a service hosted by ``twistd micro-service`` in
      another process (registry in a third);
  (c) micro.call_service to a service in the calling process.

Each row runs sequentially (one caller) and with 10 concurrent callers.
Three more rows put the floor in context: with a Klein route as the
server and with treq as the client (why micro's hot path bypasses both),
and with the server's Site not parsing POST bodies as forms (which micro's
Site does not either; the floor (a) keeps Twisted's default).
The targets (issue 2): (b) >= 0.85x (a) in calls/s, (b)'s sequential
latency <= 1.2x (a)'s, and (c) >= 20x (b).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, TWISTD, client, environment, free_port, running, table, wait_port  # noqa: E402

LOAD = str(ROOT / "bench" / "load.py")


def load(mode: str, target: str, calls: int, concurrency: int, env: dict[str, str]) -> dict[str, float]:
    return json.loads(client([sys.executable, LOAD, mode, target, str(calls), str(concurrency)], env=env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=6000, help="calls per row (default 6000)")
    args = parser.parse_args()
    calls = args.calls
    results: dict[tuple[str, int], dict[str, float]] = {}
    work = Path(tempfile.mkdtemp(prefix="micro-bench-"))

    bare_port = free_port()
    with running([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(bare_port)]):
        wait_port(bare_port)
        for concurrency in (1, 10):
            results["a", concurrency] = load("agent", f"http://127.0.0.1:{bare_port}/", calls, concurrency, environment())
            results["t", concurrency] = load("treq", f"http://127.0.0.1:{bare_port}/", calls, concurrency, environment())
    for key, mode in (("k", "klein"), ("f", "noform")):
        port = free_port()
        with running([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(port), mode]):
            wait_port(port)
            for concurrency in (1, 10):
                results[key, concurrency] = load("agent", f"http://127.0.0.1:{port}/", calls, concurrency,
                                                 environment())

    registry_port = free_port()
    env = environment(MICRO_REGISTRY_URL=f"http://127.0.0.1:{registry_port}")
    with running([TWISTD, "-n", "micro-registry"], env=env, cwd=work, log=work / "registry.log"):
        wait_port(registry_port)
        with running([TWISTD, "-n", "micro-service", "--module", "bench.echo_app"], env=env, cwd=work,
                     log=work / "service.log"):
            wait_port(registry_port + 1)
            for concurrency in (1, 10):
                results["b", concurrency] = load("micro", "echo", calls, concurrency, env)

    for concurrency in (1, 10):
        results["c", concurrency] = load("inprocess", "echo", calls * 5, concurrency, environment())

    names = {"a": "(a) bare Agent -> bare Resource", "k": "    bare Agent -> Klein route",
             "t": "    treq -> bare Resource", "f": "    bare Agent -> bare Resource, no form parsing",
             "b": "(b) call_service, other process",
             "c": "(c) call_service, in-process"}
    rows = []
    for key in "akftbc":
        for concurrency in (1, 10):
            r = results[key, concurrency]
            rows.append([names[key], concurrency, r["rate"], r["mean_us"], r["p50_us"], r["p99_us"]])
    print(table(["load", "callers", "calls/s", "mean us", "p50 us", "p99 us"], rows))
    print()
    for concurrency in (1, 10):
        a, b, c = (results[k, concurrency] for k in "abc")
        print(f"{concurrency:>2} callers: (b)/(a) calls/s = {b['rate'] / a['rate']:.2f}   "
              f"(b)/(a) mean latency = {b['mean_us'] / a['mean_us']:.2f}   (c)/(b) calls/s = {c['rate'] / b['rate']:.1f}   "
              f"Klein/(a) = {results['k', concurrency]['rate'] / a['rate']:.2f}   "
              f"treq/(a) = {results['t', concurrency]['rate'] / a['rate']:.2f}")


if __name__ == "__main__":
    main()
