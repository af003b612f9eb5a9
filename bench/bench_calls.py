"""
Calls: micro against the floor of its own stack, in one run.

    python bench/bench_calls.py [--calls N] [--rounds R] [--rows a,b,m] [--against REF ...]

Rows, each load from a separate client process (bench/load.py):

  (a) floor: a bare twisted.web.client.Agent (persistent pool) POSTing JSON
      to a bare twisted.web Resource in another process;
  (b) micro.call_service to a service hosted by ``twistd micro-service`` in
      another process (registry in a third);
  (c) micro.call_service to a service in the calling process;
  (m) the ``micro bench`` command (python -m micro) against the same
      service as (b), with the same payload, calls and concurrency: its
      figures should agree with (b)'s, which is what a user reads off it;
  (o) (b) with everything observed on both sides: metrics on (the service
      process with --metrics, the caller's node too) and OpenTelemetry
      spans recorded (the SDK, every span sampled, dropped by its
      exporter): its ratio to (b) is what observing costs;
  (s) (o) with 1 trace in 100 sampled (MICRO_BENCH_SAMPLE=0.01), as a
      production setup might record;
  (q) (c) observed as (o).

Each row runs sequentially (one caller) and with 10 concurrent callers.
Three more rows put the floor in context: with a Klein route as the
server and with treq as the client (why micro's hot path bypasses both),
and with the server's Site not parsing POST bodies as forms (which micro's
Site does not either; the floor (a) keeps Twisted's default).

C{--rows} measures only some rows (by letter).  With C{--against REF},
rows (b) and (c) are measured for that commit too
(a git worktree in a virtualenv of its own, see bench/_trees.py), in the
same rounds, and the ratios this/REF are printed.

All servers run for the whole benchmark; the rows are measured R times,
interleaved, and each figure is the median of its rounds, so that a burst
of load from elsewhere on the machine spoils one round, not one row.
The targets (issue 2): (b) >= 0.85x (a) in calls/s, (b)'s sequential
latency <= 1.2x (a)'s, and (c) >= 20x (b).
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

from bench._common import ROOT, client, environment, free_port, running, table, wait_port  # noqa: E402
from bench._trees import Tree, this_tree, tree_at  # noqa: E402
from tests._processes import instances, wait_until  # noqa: E402

LOAD = str(ROOT / "bench" / "load.py")
BARE = str(ROOT / "bench" / "bare_server.py")
# In-process calls are ~50x faster: this many times more of them make a
# row last long enough (seconds) not to be one burst of noise.
IN_PROCESS_FACTOR = 20
NAMES = {"a": "(a) bare Agent -> bare Resource", "k": "    bare Agent -> Klein route",
         "f": "    bare Agent -> bare Resource, no form parsing", "t": "    treq -> bare Resource",
         "b": "(b) call_service, other process", "c": "(c) call_service, in-process",
         "m": "(m) micro bench, other process", "o": "(o) (b) with metrics and spans", "s": "(s) (o), 1% of traces sampled",
         "q": "(q) (c) with metrics and spans"}
# The ratios printed under the table: (label, row, row it is divided by, figure).
RATIOS = (
    ("(b)/(a) calls/s", "b", "a", "rate"), ("(b)/(a) mean latency", "b", "a", "mean_us"),
    ("(c)/(b) calls/s", "c", "b", "rate"), ("Klein/(a)", "k", "a", "rate"), ("treq/(a)", "t", "a", "rate"),
    ("no-form/(a)", "f", "a", "rate"),
    ("(m)/(b) calls/s", "m", "b", "rate"), ("(m)/(b) p50", "m", "b", "p50_us"), ("(m)/(b) p99", "m", "b", "p99_us"),
    ("(o)/(b) calls/s", "o", "b", "rate"), ("(o)/(b) p50", "o", "b", "p50_us"), ("(s)/(b) calls/s", "s", "b", "rate"),
    ("(s)/(b) p50", "s", "b", "p50_us"), ("(q)/(c) calls/s", "q", "c", "rate"),
)
# The calls load.py makes before it measures; micro bench is told the same.
WARMUP = 300
FIGURES = ("rate", "mean_us", "p50_us", "p99_us")


def load(mode: str, target: str, calls: int, concurrency: int, env: dict[str, str], tree: Tree | None = None) -> dict[str, float]:
    tree = tree or this_tree()
    argv = [tree.python, str(tree.root / "bench" / "load.py"), mode, target, str(calls), str(concurrency)]
    return json.loads(client(argv, env=env))


def micro_bench(target: str, calls: int, concurrency: int, env: dict[str, str], tree: Tree | None = None,
                ) -> dict[str, float]:
    """
    The figures of C{micro bench} run as a user would, in its own process.
    """
    tree = tree or this_tree()
    argv = [tree.python, "-m", "micro", "--json", "bench", target, '{"n": 1, "name": "bench"}', "-n", str(calls),
            "-c", str(concurrency), "--warmup", str(WARMUP), "-q"]
    figures = json.loads(client(argv, env=env))
    assert figures["errors"] == 0, figures
    return {"rate": figures["calls_per_second"], "mean_us": figures["mean"] * 1e6,
            "p50_us": figures["p50"] * 1e6, "p99_us": figures["p99"] * 1e6}


def start_micro(servers: ExitStack, tree: Tree, work: Path, observed: bool = False,
                sample: str = "1") -> dict[str, str]:
    """
    A registry and the echo service of C{tree}, running until the end; the
    environment of its clients.  C{observed}: both with metrics, the
    service recording spans.
    """
    port = free_port()
    env = tree.environment(MICRO_REGISTRY_URL=f"http://127.0.0.1:{port}", MICRO_BENCH_SAMPLE=sample)
    logs = work / (tree.label + (f"-observed-{sample}" if observed else ""))
    logs.mkdir()
    extra = ["--metrics"] if observed else []
    app = "bench.echo_observed_app" if observed else "bench.echo_app"
    servers.enter_context(running([tree.twistd, "-n", "micro-registry", *extra], env=env, cwd=logs,
                                  log=logs / "registry.log"))
    wait_port(port)
    servers.enter_context(running([tree.twistd, "-n", "micro-service", "--module", app, *extra], env=env,
                                  cwd=logs, log=logs / "service.log"))
    # Registered, wherever it listens (port + 1 may have been taken meanwhile).
    wait_until(lambda: instances(f"http://127.0.0.1:{port}", "echo"), what="the echo service")
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=6000, help="calls per row and round (default 6000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, interleaved (default 3)")
    parser.add_argument("--rows", default="", help="only these rows, by letter, like a,b,m (default: all)")
    parser.add_argument("--against", action="append", default=[], metavar="REF",
                        help="also measure (b) and (c) at this commit, in its own virtualenv (repeatable)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="micro-bench-"))
    others = [tree_at(ref) for ref in args.against]
    with ExitStack() as servers:
        ports = {}
        for key, mode in (("a", ""), ("k", "klein"), ("f", "noform")):
            ports[key] = free_port()
            servers.enter_context(running([sys.executable, BARE, str(ports[key])] + ([mode] if mode else [])))
            wait_port(ports[key])
        micro_env = start_micro(servers, this_tree(), work)
        wanted = set(args.rows.split(",")) if args.rows else set(NAMES)
        observed_env = start_micro(servers, this_tree(), work, observed=True) if "o" in wanted else {}
        sampled_env = start_micro(servers, this_tree(), work, observed=True, sample="0.01") if "s" in wanted else {}
        rows = {
            "a": lambda n, c: load("agent", f"http://127.0.0.1:{ports['a']}/", n, c, environment()),
            "k": lambda n, c: load("agent", f"http://127.0.0.1:{ports['k']}/", n, c, environment()),
            "f": lambda n, c: load("agent", f"http://127.0.0.1:{ports['f']}/", n, c, environment()),
            "t": lambda n, c: load("treq", f"http://127.0.0.1:{ports['a']}/", n, c, environment()),
            "b": lambda n, c: load("micro", "echo", n, c, micro_env),
            "c": lambda n, c: load("inprocess", "echo", n * IN_PROCESS_FACTOR, c, environment()),
            "m": lambda n, c: micro_bench("echo", n, c, micro_env),
            "o": lambda n, c: load("micro-observed", "echo", n, c, observed_env),
            "s": lambda n, c: load("micro-observed", "echo", n, c, sampled_env),
            "q": lambda n, c: load("inprocess-observed", "echo", n * IN_PROCESS_FACTOR, c, environment()),
        }
        rows = {key: run for key, run in rows.items() if key in wanted}
        for tree in others:
            env = start_micro(servers, tree, work)
            rows[f"b@{tree.label}"] = lambda n, c, env=env, tree=tree: load("micro", "echo", n, c, env, tree)
            rows[f"c@{tree.label}"] = lambda n, c, tree=tree: load(
                "inprocess", "echo", n * IN_PROCESS_FACTOR, c, tree.environment(), tree)
        rounds: dict[tuple[str, int], list[dict[str, float]]] = {}
        for number in range(args.rounds):
            print(f"round {number + 1} of {args.rounds} ...", file=sys.stderr, flush=True)
            for key, run in rows.items():
                for concurrency in (1, 10):
                    rounds.setdefault((key, concurrency), []).append(run(args.calls, concurrency))
    results = {row: {figure: statistics.median(r[figure] for r in runs) for figure in FIGURES}
               for row, runs in rounds.items()}

    lines = []
    for key in rows:
        for concurrency in (1, 10):
            r = results[key, concurrency]
            name = NAMES.get(key) or f"{NAMES[key[0]]} at {key.split('@')[1]}"
            lines.append([name, concurrency, r["rate"], r["mean_us"], r["p50_us"], r["p99_us"]])
    print(f"{args.calls} calls per row ({args.calls * IN_PROCESS_FACTOR} in-process), "
          f"median of {args.rounds} interleaved rounds")
    print(table(["load", "callers", "calls/s", "mean us", "p50 us", "p99 us"], lines))
    print()
    for concurrency in (1, 10):
        ratios = []
        for label, top, bottom, figure in RATIOS:
            if (top, concurrency) in results and (bottom, concurrency) in results:
                ratios.append(f"{label} = {results[top, concurrency][figure] / results[bottom, concurrency][figure]:.2f}")
        print(f"{concurrency:>2} callers: " + "   ".join(ratios))
    for tree in others:
        for concurrency in (1, 10):
            ratios = []
            for row in ("b", "c"):
                if (row, concurrency) in results:
                    this, other = results[row, concurrency], results[f"{row}@{tree.label}", concurrency]
                    ratios.append(f"({row}) calls/s = {this['rate'] / other['rate']:.2f}   "
                                  f"({row}) mean latency = {this['mean_us'] / other['mean_us']:.2f}")
            print(f"{concurrency:>2} callers, this / {tree.label}: " + "   ".join(ratios))


if __name__ == "__main__":
    main()
