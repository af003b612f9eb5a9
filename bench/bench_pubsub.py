"""
Pub/sub and cache: throughput and latency across processes, in one run.

    python bench/bench_pubsub.py [--subscribers 10] [--seconds 5] [--publishes 300] [--calls 4000]

Pub/sub rows: a twistd registry, SUBSCRIBERS subscriber processes
(``twistd micro-service --module bench.pubsub_app``) and a publisher
process (bench/pubsub_load.py), each its own process:

  - latency: one publish at a time; delivery latency is the time from
    publish to a subscriber's handler running (wall clock, one machine),
    the publish round trip is until every subscriber has answered;
  - throughput: 1 and 16 publishers in a loop, each awaiting its publish;
    deliveries/s counts handler runs in all subscribers together.

The floor rows do the same with no registry in between: the publisher
POSTs each message with a bare Agent to SUBSCRIBERS bare twisted.web
servers (bench/bare_server.py) at once.  micro's publish makes two hops
(publisher -> registry -> subscribers), so it cannot reach the floor; the
ratios say how far off it is.

Cache rows: call_service alternating set and get, with 1 and 10 callers,
to a cache in another process (a cross-process call, one HTTP hop) and in
the calling process (in-process dispatch).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    ROOT,
    TWISTD,
    client,
    environment,
    free_port,
    running,
    table,
    wait_port,
)

LOAD = str(ROOT / "bench" / "pubsub_load.py")
BARE = str(ROOT / "bench" / "bare_server.py")


def load(env: dict[str, str], *args: object) -> dict[str, float]:
    out = client([sys.executable, LOAD, *map(str, args)], env=env)
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput row")
    parser.add_argument("--publishes", type=int, default=300, help="publishes in the latency row")
    parser.add_argument("--calls", type=int, default=4000, help="cache calls per row")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="micro-bench-pubsub-"))
    registry_port = free_port()
    env = environment(MICRO_REGISTRY_URL=f"http://127.0.0.1:{registry_port}")
    pubsub_rows, cache_rows = [], []

    with ExitStack() as stack:
        stack.enter_context(running([TWISTD, "-n", "micro-registry"], env=env, cwd=work, log=work / "registry.log"))
        wait_port(registry_port)
        for n in range(args.subscribers):
            stack.enter_context(running([TWISTD, "-n", "micro-service", "--module", "bench.pubsub_app"], env=env,
                                        cwd=work, log=work / f"subscriber-{n}.log"))
        load(env, "ready", args.subscribers)

        floor_ports = [free_port() for _ in range(args.subscribers)]
        for port in floor_ports:
            stack.enter_context(running([sys.executable, BARE, str(port), "noform"], env=environment(), cwd=work))
            wait_port(port)
        results: dict[tuple[str, ...], dict[str, float]] = {}
        for who, ports in (("micro", []), ("floor", floor_ports)):
            results[who, "latency", 1] = load(env, "latency", args.publishes, *ports)
            for concurrency in (1, 16):
                results[who, "throughput", concurrency] = load(env, "throughput", args.seconds, concurrency, *ports)
        for who, label in (("floor", "floor: bare fan-out, "), ("micro", "")):
            r = results[who, "latency", 1]
            delivery = f"{r['delivery_p50_ms']:.2f} / {r['delivery_p99_ms']:.2f}" if r["deliveries"] else ""
            pubsub_rows.append([f"{label}latency, 1 publisher, {args.subscribers} subscribers", "", "", delivery,
                                f"{r['publish_p50_ms']:.2f} / {r['publish_p99_ms']:.2f}", r["errors"]])
            for concurrency in (1, 16):
                r = results[who, "throughput", concurrency]
                pubsub_rows.append([f"{label}throughput, {concurrency} publishers, {args.subscribers} subscribers",
                                    r["publish_rate"], r["delivery_rate"], "", "", r["errors"]])

        def micro_over_floor(row: tuple[str, int], field: str) -> float:
            return results[("micro", *row)][field] / results[("floor", *row)][field]

        ratios = [f"micro/floor: publish p50 = {micro_over_floor(('latency', 1), 'publish_p50_ms'):.2f}"]
        ratios += [f"publishes/s with {c} = {micro_over_floor(('throughput', c), 'publish_rate'):.2f}" for c in (1, 16)]

        with running([sys.executable, LOAD, "cache-host"], env=env, cwd=work, log=work / "cache.log"):
            load(env, "cache-ready")
            for concurrency in (1, 10):
                r = load(env, "cache", args.calls, concurrency)
                cache_rows.append([f"cache set/get, other process, {concurrency} callers", r["rate"],
                                   r["p50_us"], r["p99_us"]])
    for concurrency in (1, 10):
        r = load(environment(), "cache-inprocess", args.calls * 5, concurrency)
        cache_rows.append([f"cache set/get, in-process, {concurrency} callers", r["rate"], r["p50_us"], r["p99_us"]])

    print(table(["pub/sub", "publishes/s", "deliveries/s", "delivery p50/p99 ms", "publish p50/p99 ms", "errors"],
                pubsub_rows))
    print("   ".join(ratios))
    print()
    print(table(["cache", "ops/s", "p50 us", "p99 us"], cache_rows))


if __name__ == "__main__":
    main()
