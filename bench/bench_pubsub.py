"""
Pub/sub and cache: throughput and latency across processes, in one run.

    python bench/bench_pubsub.py [--subscribers 10] [--seconds 5] [--publishes 300] [--calls 4000]
                                 [--rounds R] [--against REF ...]

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

With C{--against REF}, the micro pub/sub rows are measured for that commit
too (its registry, subscribers and publisher, a git worktree in a
virtualenv of its own, see bench/_trees.py), in the same rounds, and the
ratios this/REF are printed.  With C{--rounds R}, the pub/sub rows run R
times, interleaved, and each figure is the median of its rounds.

Cache rows: call_service alternating set and get, with 1 and 10 callers,
to a cache in another process (a cross-process call, one HTTP hop) and in
the calling process (in-process dispatch).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    ROOT,
    client,
    environment,
    free_port,
    running,
    table,
    wait_port,
)
from bench._trees import Tree, this_tree, tree_at  # noqa: E402

LOAD = str(ROOT / "bench" / "pubsub_load.py")
BARE = str(ROOT / "bench" / "bare_server.py")


def load(env: dict[str, str], *args: object, tree: Tree | None = None) -> dict[str, float]:
    tree = tree or this_tree()
    out = client([tree.python, str(tree.root / "bench" / "pubsub_load.py"), *map(str, args)], env=env)
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def start_pubsub(stack: ExitStack, tree: Tree, work: Path, subscribers: int) -> dict[str, str]:
    """
    A registry and C{subscribers} subscriber processes of C{tree}, running
    until the end, all ready; the environment of its publishers.
    """
    port = free_port()
    env = tree.environment(MICRO_REGISTRY_URL=f"http://127.0.0.1:{port}")
    logs = work / tree.label
    logs.mkdir()
    stack.enter_context(running([tree.twistd, "-n", "micro-registry"], env=env, cwd=logs, log=logs / "registry.log"))
    wait_port(port)
    for n in range(subscribers):
        stack.enter_context(running([tree.twistd, "-n", "micro-service", "--module", "bench.pubsub_app"], env=env,
                                    cwd=logs, log=logs / f"subscriber-{n}.log"))
    load(env, "ready", subscribers, tree=tree)
    return env


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput row")
    parser.add_argument("--publishes", type=int, default=300, help="publishes in the latency row")
    parser.add_argument("--calls", type=int, default=4000, help="cache calls per row")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the pub/sub rows, interleaved (default 1)")
    parser.add_argument("--against", action="append", default=[], metavar="REF",
                        help="also measure the micro pub/sub rows at this commit, in its own virtualenv (repeatable)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="micro-bench-pubsub-"))
    pubsub_rows, cache_rows = [], []
    others = [tree_at(ref) for ref in args.against]

    with ExitStack() as stack:
        trees = {tree.label: (tree, start_pubsub(stack, tree, work, args.subscribers))
                 for tree in [this_tree(), *others]}
        env = trees["this"][1]
        floor_ports = [free_port() for _ in range(args.subscribers)]
        for port in floor_ports:
            stack.enter_context(running([sys.executable, BARE, str(port), "noform"], env=environment(), cwd=work))
            wait_port(port)
        runs: dict[tuple[str, ...], list[dict[str, float]]] = {}
        for number in range(args.rounds):
            print(f"round {number + 1} of {args.rounds} ...", file=sys.stderr, flush=True)
            for who, ports in [(label, []) for label in trees] + [("floor", floor_ports)]:
                if who == "floor" and number:
                    continue  # the floor is measured once: it is context, not a claim
                tree, who_env = trees.get(who, trees["this"])
                runs.setdefault((who, "latency", 1), []).append(load(who_env, "latency", args.publishes, *ports,
                                                                      tree=tree))
                for concurrency in (1, 16):
                    runs.setdefault((who, "throughput", concurrency), []).append(
                        load(who_env, "throughput", args.seconds, concurrency, *ports, tree=tree))
        results = {key: _median(found) for key, found in runs.items()}
        results.update({("micro", *key[1:]): value for key, value in results.items() if key[0] == "this"})
        labels = [("floor", "floor: bare fan-out, "), ("micro", "")]
        labels += [(tree.label, f"at {tree.label}: ") for tree in others]
        for who, label in labels:
            r = results[who, "latency", 1]
            delivery = f"{r['delivery_p50_ms']:.2f} / {r['delivery_p99_ms']:.2f}" if r["deliveries"] else ""
            pubsub_rows.append([f"{label}latency, 1 publisher, {args.subscribers} subscribers", "", "", delivery,
                                f"{r['publish_p50_ms']:.2f} / {r['publish_p99_ms']:.2f}", r["errors"]])
            for concurrency in (1, 16):
                r = results[who, "throughput", concurrency]
                pubsub_rows.append([f"{label}throughput, {concurrency} publishers, {args.subscribers} subscribers",
                                    r["publish_rate"], r["delivery_rate"], "", "", r["errors"]])
        against = []
        for tree in others:
            def over(row: tuple[str, int], field: str, label: str = tree.label) -> float:
                return results[("micro", *row)][field] / results[(label, *row)][field]
            against.append(f"this/{tree.label}: deliveries/s with 1 publisher = "
                           f"{over(('throughput', 1), 'delivery_rate'):.2f}"
                           f"   with 16 = {over(('throughput', 16), 'delivery_rate'):.2f}"
                           f"   publish p50 = {over(('latency', 1), 'publish_p50_ms'):.2f}"
                           f"   delivery p50 = {over(('latency', 1), 'delivery_p50_ms'):.2f}")

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
    for line in against:
        print(line)
    print()
    print(table(["cache", "ops/s", "p50 us", "p99 us"], cache_rows))


if __name__ == "__main__":
    main()
