"""
Routes: requests through a registry route against a bare Twisted reverse
proxy to the same Klein backend, in one run.

    apt-get install -y wrk          # the load generator (Debian package)
    python bench/bench_routes.py [--seconds 5] [--connections 1,10,64] [--workers 1,2,4]
                                 [--rounds 3] [--against REF ...]

Rows, each loaded by wrk (a separate process) for --seconds per
connection count, in --rounds interleaved rounds; each figure is the
median of its rounds:

  direct       wrk -> the backend (bench/route_servers.py: a Klein app, or with
               --backend raw a bare protocol), no proxy;
  bare proxy   wrk -> twisted.web.proxy.ReverseProxyResource -> backend;
  route        wrk -> ``twistd micro-registry`` with a route /hello to the
               backend registered as service "backend" -> backend;
  route xN     the same through N registry processes serving one port
               (``--workers N``, SO_REUSEPORT) over a Redis store, for each
               N of --workers; Redis is a redis-server the run starts for
               itself;
  route@REF    for each --against REF: the route row on a registry of that
               commit (a worktree in its own venv, bench/_trees.py), to the
               same backend; the table then gives this / REF for the route
               row's requests/s and p99.

With --paced RATE, route and route@REF are also loaded at about RATE
requests/s (each connection pausing 1000 * connections / RATE ms between
requests): their latencies at the same load, where the unpaced rows
compare latencies at whatever rate each one reaches (a faster registry
drives the backend closer to its own limit, and its tail with it).

The target (issue 3): route >= 0.8x bare proxy in requests/s.  The route xN
rows give their ratio to route x1 (one process on the Redis store) too.
wrk is installed with apt-get when it is missing and the run is root's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests._redis import RedisServer  # noqa: E402
from bench._trees import tree_at  # noqa: E402
from bench._common import (  # noqa: E402
    ROOT,
    TWISTD,
    environment,
    free_port,
    running,
    table,
    wait_port,
)

SERVERS = str(ROOT / "bench" / "route_servers.py")
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, connections: int, seconds: int, pause_ms: int = 0) -> dict[str, float]:
    """
    Load C{url} with wrk; requests/s and latency percentiles in ms.  With
    C{pause_ms}, each connection waits that long before its next request
    (wrk's C{delay()}), which paces the load below what the server could take.
    """
    script: list[str] = []
    if pause_ms:
        path = Path(tempfile.gettempdir()) / f"micro-bench-pace-{pause_ms}.lua"
        path.write_text(f"function delay()\n  return {pause_ms}\nend\n")
        script = ["-s", str(path)]
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *script, url],
                          capture_output=True, text=True, timeout=seconds + 60, check=True)
    out = done.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    latency = {p: float(v) * _UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rate": rate, "p50_ms": latency["50"], "p99_ms": latency["99"]}


def ensure_wrk() -> None:
    if shutil.which("wrk") is not None:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        for step in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"],
                     ["apt-get", "install", "-y", "-q", "wrk"]):
            subprocess.run(step, check=False, capture_output=True, timeout=600)
            if shutil.which("wrk") is not None:
                return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")


def command(url: str, document: object, attempts: int = 50) -> object:
    """
    Send a registry command; retry while the registry is not ready yet
    (a registry on Redis loads its state after it listens).
    """
    request = urllib.request.Request(url, json.dumps(document).encode(), {"content-type": "application/json"})
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            if e.code != 503 or attempt == attempts - 1:
                raise
            time.sleep(0.1)
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="seconds of load per row (default 5)")
    parser.add_argument("--connections", default="1,10,64",
                        help="connection counts, comma-separated (default 1,10,64)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per row, the median kept (default 3)")
    parser.add_argument("--workers", default="1,2,4",
                        help="registry processes on one port over Redis, comma-separated; empty for none (default 1,2,4)")
    parser.add_argument("--backend", choices=["klein", "raw"], default="klein",
                        help="the backend: a Klein app (default) or a bare protocol several times faster")
    parser.add_argument("--paced", type=int, default=0, metavar="RATE",
                        help="also load route and route@REF at about RATE requests/s (default: no)")
    parser.add_argument("--against", action="append", default=[], metavar="REF",
                        help="also measure the route row on commit REF (repeatable)")
    args = parser.parse_args()
    ensure_wrk()
    others = [tree_at(ref) for ref in args.against]
    counts = [int(c) for c in args.connections.split(",")]
    workers = [int(n) for n in args.workers.split(",") if n]
    work = Path(tempfile.mkdtemp(prefix="micro-bench-routes-"))
    backend, proxy, registry = free_port(), free_port(), free_port()
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}

    with ExitStack() as stack:
        role = "backend" if args.backend == "klein" else "raw"
        stack.enter_context(running([sys.executable, SERVERS, role, str(backend)], log=work / "backend.log"))
        stack.enter_context(running([sys.executable, SERVERS, "proxy", str(proxy), str(backend)],
                                    log=work / "proxy.log"))
        stack.enter_context(running([TWISTD, "-n", "micro-registry", "--listen",
                                     f"tcp:{registry}:interface=127.0.0.1", "--ttl", "3600"],
                                    env=environment(), cwd=work, log=work / "registry.log"))
        targets = {"direct": backend, "bare proxy": proxy, "route": registry}
        for tree in others:
            port = free_port()
            stack.enter_context(running([tree.twistd, "-n", "micro-registry", "--listen",
                                         f"tcp:{port}:interface=127.0.0.1", "--ttl", "3600"],
                                        env=tree.environment(), cwd=work, log=work / f"registry-{tree.label}.log"))
            targets[f"route@{tree.label}"] = port
        if workers:
            redis = RedisServer(work).start()
            stack.callback(redis.stop)
            for n in workers:
                port = free_port()
                stack.enter_context(running([TWISTD, "-n", "micro-registry", "--listen",
                                             f"tcp:{port}:interface=127.0.0.1", "--ttl", "3600", "--workers", str(n),
                                             "--store", f"{redis.url}?cluster=x{n}"],
                                            env=environment(), cwd=work, log=work / f"registry-x{n}.log"))
                targets[f"route x{n}"] = port
        for port in targets.values():
            wait_port(port)
        for name, port in targets.items():
            if name.startswith("route"):  # route, route xN, route@REF
                registry_url = f"http://127.0.0.1:{port}"
                command(registry_url, {"register": {"type": "service", "service": "backend",
                                                    "location": f"http://127.0.0.1:{backend}"}})
                command(registry_url, {"register": {"type": "route", "service": "backend", "path": "/hello"}})
        time.sleep(2)  # every worker has loaded the state
        for name, port in targets.items():
            wrk(f"http://127.0.0.1:{port}/hello", max(counts), 1)  # warm up pools and caches
        for connections in counts:
            for _ in range(args.rounds):
                for name, port in targets.items():
                    result = wrk(f"http://127.0.0.1:{port}/hello", connections, args.seconds)
                    runs.setdefault((name, connections), []).append(result)
                for name, port in targets.items():
                    if args.paced and (name == "route" or name.startswith("route@")):
                        pause = max(1, round(1000 * connections / args.paced))
                        result = wrk(f"http://127.0.0.1:{port}/hello", connections, args.seconds, pause)
                        runs.setdefault((f"{name} paced", connections), []).append(result)
    results = {key: {figure: statistics.median(r[figure] for r in rounds) for figure in rounds[0]}
               for key, rounds in runs.items()}

    rows = []
    for connections in counts:
        bare = results["bare proxy", connections]["rate"]
        one = results.get(("route x1", connections), {}).get("rate")
        for name in targets:
            r = results[name, connections]
            versus_one = f"{r['rate'] / one:.2f}" if one and name.startswith("route x") else "-"
            rows.append([name, connections, r["rate"], r["p50_ms"], r["p99_ms"], r["rate"] / bare, versus_one])
    print(table(["target", "connections", "requests/s", "p50 ms", "p99 ms", "x bare proxy", "x route x1"], rows))
    print(f"median of {args.rounds} interleaved rounds of {args.seconds}s each")
    for tree in others:
        for connections in counts:
            this, other = results["route", connections], results[f"route@{tree.label}", connections]
            print(f"c={connections:<3} route this / {tree.label}: requests/s {this['rate'] / other['rate']:.2f}x, "
                  f"p99 {this['p99_ms'] / other['p99_ms']:.2f}x")
    if args.paced:
        paced = [[name, connections, r["rate"], r["p50_ms"], r["p99_ms"]] for connections in counts
                 for (name, c), r in results.items() if c == connections and name.endswith(" paced")]
        print(f"\npaced at about {args.paced} requests/s:")
        print(table(["target", "connections", "requests/s", "p50 ms", "p99 ms"], paced))
        for tree in others:
            for connections in counts:
                this, other = results["route paced", connections], results[f"route@{tree.label} paced", connections]
                print(f"c={connections:<3} paced route this / {tree.label}: p50 {this['p50_ms'] / other['p50_ms']:.2f}x, "
                      f"p99 {this['p99_ms'] / other['p99_ms']:.2f}x")


if __name__ == "__main__":
    main()
