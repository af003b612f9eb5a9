"""
Routes: requests through a registry route against a bare Twisted reverse
proxy to the same Klein backend, in one run.

    apt-get install -y wrk          # the load generator (Debian package)
    python bench/bench_routes.py [--seconds 5] [--connections 1,10]

Rows, each loaded by wrk (a separate process) for --seconds per
connection count, in --rounds interleaved rounds of which the best is kept
(on a shared machine, noise only ever slows a row down):

  direct       wrk -> the Klein backend (bench/route_servers.py), no proxy;
  bare proxy   wrk -> twisted.web.proxy.ReverseProxyResource -> backend;
  route        wrk -> ``twistd micro-registry`` with a route /hello to the
               backend registered as service "backend" -> backend.

The target (issue 3): route >= 0.8x bare proxy in requests/s.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def wrk(url: str, connections: int, seconds: int) -> dict[str, float]:
    """
    Load C{url} with wrk; requests/s and latency percentiles in ms.
    """
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                          capture_output=True, text=True, timeout=seconds + 60, check=True)
    out = done.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    latency = {p: float(v) * _UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rate": rate, "p50_ms": latency["50"], "p99_ms": latency["99"]}


def command(url: str, document: object) -> object:
    request = urllib.request.Request(url, json.dumps(document).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="seconds of load per row (default 5)")
    parser.add_argument("--connections", default="1,10", help="connection counts, comma-separated (default 1,10)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per row, the best one kept (default 2)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    counts = [int(c) for c in args.connections.split(",")]
    work = Path(tempfile.mkdtemp(prefix="micro-bench-routes-"))
    backend, proxy, registry = free_port(), free_port(), free_port()
    results: dict[tuple[str, int], dict[str, float]] = {}

    with running([sys.executable, SERVERS, "backend", str(backend)], log=work / "backend.log"), \
            running([sys.executable, SERVERS, "proxy", str(proxy), str(backend)], log=work / "proxy.log"), \
            running([TWISTD, "-n", "micro-registry", "--listen", f"tcp:{registry}:interface=127.0.0.1",
                     "--ttl", "3600"], env=environment(), cwd=work, log=work / "registry.log"):
        for port in (backend, proxy, registry):
            wait_port(port)
        registry_url = f"http://127.0.0.1:{registry}"
        command(registry_url, {"register": {"type": "service", "service": "backend",
                                            "location": f"http://127.0.0.1:{backend}"}})
        command(registry_url, {"register": {"type": "route", "service": "backend", "path": "/hello"}})
        targets = {"direct": backend, "bare proxy": proxy, "route": registry}
        for name, port in targets.items():
            wrk(f"http://127.0.0.1:{port}/hello", max(counts), 1)  # warm up pools and caches
        for connections in counts:
            for _ in range(args.rounds):
                for name, port in targets.items():
                    result = wrk(f"http://127.0.0.1:{port}/hello", connections, args.seconds)
                    best = results.get((name, connections))
                    if best is None or result["rate"] > best["rate"]:
                        results[name, connections] = result

    rows = []
    for connections in counts:
        bare = results["bare proxy", connections]["rate"]
        for name in ("direct", "bare proxy", "route"):
            r = results[name, connections]
            rows.append([name, connections, r["rate"], r["p50_ms"], r["p99_ms"], r["rate"] / bare])
    print(table(["target", "connections", "requests/s", "p50 ms", "p99 ms", "x bare proxy"], rows))


if __name__ == "__main__":
    main()
