"""
micro against Moleculer (and both against the Twisted floor), in one run on
one machine.

    python bench/bench_peers.py [--calls 6000] [--seconds 5] [--rounds 3] [--subscribers 10]

Calls: the same C{add} call ({"a": n, "b": 1} -> n + 1), one caller after
another and 10 concurrent callers, each load from a client process of its
own:

  floor      a bare twisted.web.client.Agent (bench/load.py) POSTing to a
             bare twisted.web Resource (bench/bare_server.py add);
  micro      micro.call_service (bench/load.py) to bench/add_app.py hosted
             by ``twistd micro-service`` (a ``twistd micro-registry`` in a
             third process);
  Moleculer  broker.call("math.add") from a broker in one node process to
             a broker in another (bench/moleculer/peer.js), over
             Moleculer's TCP transporter (static addresses, JSON).

Pub/sub: 1 publisher, SUBSCRIBERS subscribers, for --seconds per row;
deliveries/s counts handler runs in all subscribers together:

  floor      a bare Agent POSTing each message to SUBSCRIBERS bare Resources
             at once (bench/pubsub_load.py with ports);
  micro      micro publish through the registry to SUBSCRIBERS ``twistd
             micro-service --module bench.pubsub_app`` processes; each
             publish awaits every subscriber's answer;
  Moleculer  broker.broadcast from the publisher's broker to SUBSCRIBERS
             services hosted by one other broker ("1 node": one packet per
             publish, the two-process setup) and by SUBSCRIBERS brokers, one
             process each ("N nodes": one packet per subscriber, like
             micro).  Moleculer events are fire-and-forget: the publisher
             awaits only the write to its sockets, and the rate is
             deliveries / (last delivery - first publish);
  Moleculer, acked   what micro's publish does (it returns once every
             subscriber answered) done with Moleculer calls: each publish
             calls the SUBSCRIBERS nodes' "receive" action at once and
             awaits all the answers.

Moleculer 0.14 is installed with npm into bench/.peers/ (git-ignored) on
the first run; without node and npm its rows are skipped, saying so.
Moleculer's TCP transporter listens on every interface (it has no host
option); its peers are all given as 127.0.0.1.

Rows are measured R times, interleaved, and each figure is the median of
its rounds; ratios are micro/Moleculer and micro/floor.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    ROOT,
    TWISTD,
    client,
    die_with_parent,
    environment,
    free_port,
    running,
    table,
    wait_port,
)
from tests._processes import instances, wait_until  # noqa: E402

PEERS = ROOT / "bench" / ".peers"
PEER_JS = str(ROOT / "bench" / "moleculer" / "peer.js")
MOLECULER = "moleculer@0.14"
CALL_FIGURES = ("rate", "mean_us", "p50_us", "p99_us")
PUBSUB_FIGURES = ("delivery_rate", "publish_rate", "errors")


def moleculer_ready() -> str:
    """
    "" once Moleculer is installed under bench/.peers/, else why its rows
    are skipped.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return f"Moleculer rows skipped: {'node' if not node else 'npm'} is not installed"
    if not (PEERS / "node_modules" / "moleculer" / "package.json").exists():
        PEERS.mkdir(exist_ok=True)
        (PEERS / "package.json").write_text('{"name": "micro-bench-peers", "private": true}\n')
        print(f"installing {MOLECULER} into {PEERS} ...", file=sys.stderr, flush=True)
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", MOLECULER], cwd=PEERS,
                              capture_output=True, timeout=600, preexec_fn=die_with_parent)
        if done.returncode != 0:
            return f"Moleculer rows skipped: npm install {MOLECULER} failed: {done.stderr.decode()[-500:]}"
    return ""


class Moleculer:
    """
    The long-lived Moleculer nodes: "server" (math.add and SUBSCRIBERS
    subscriber services) and SUBSCRIBERS one-service subscriber nodes; the
    client nodes "caller" and "pub" come and go, one process per load.
    """

    def __init__(self, stack: ExitStack, subscribers: int, work: Path):
        self.subscribers = subscribers
        names = ["server", "caller", "pub"] + [f"s{k}" for k in range(subscribers)]
        self.ports = {name: free_port() for name in names}
        self.urls = ",".join(f"127.0.0.1:{port}/{name}" for name, port in self.ports.items())
        self.env = environment(NODE_PATH=str(PEERS / "node_modules"))
        self._serve(stack, "server", work, "--math", "--subscribers", "0", str(subscribers), "bench.one")
        for k in range(subscribers):
            self._serve(stack, f"s{k}", work, "--subscribers", str(subscribers + k), "1", "bench.many")

    def _serve(self, stack: ExitStack, name: str, work: Path, *options: str) -> None:
        stack.enter_context(running(["node", PEER_JS, "serve", name, str(self.ports[name]), self.urls, *options],
                                    env=self.env, cwd=work, log=work / f"moleculer-{name}.log"))
        wait_port(self.ports[name])

    def _client(self, role: str, name: str, *args: object) -> dict[str, float]:
        argv = ["node", PEER_JS, role, name, str(self.ports[name]), self.urls, *map(str, args)]
        out = client(argv, env=self.env, timeout=300)
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def calls(self, calls: int, concurrency: int) -> dict[str, float]:
        return self._client("calls", "caller", calls, concurrency)

    def publish(self, seconds: float, one_node: bool, acked: bool = False) -> dict[str, float]:
        first, event = (0, "bench.one") if one_node else (self.subscribers, "bench.many")
        return self._client("publish", "pub", seconds, first, self.subscribers, event, *(["--acked"] if acked else []))


def start_micro(stack: ExitStack, subscribers: int, work: Path) -> dict[str, str]:
    """
    A registry, the add service and SUBSCRIBERS subscriber processes, all
    twistd; the environment of their clients.
    """
    port = free_port()
    env = environment(MICRO_REGISTRY_URL=f"http://127.0.0.1:{port}")
    stack.enter_context(running([TWISTD, "-n", "micro-registry"], env=env, cwd=work, log=work / "registry.log"))
    wait_port(port)
    stack.enter_context(running([TWISTD, "-n", "micro-service", "--module", "bench.add_app"], env=env, cwd=work,
                                log=work / "add.log"))
    wait_until(lambda: instances(f"http://127.0.0.1:{port}", "add"), what="the add service")
    for n in range(subscribers):
        stack.enter_context(running([TWISTD, "-n", "micro-service", "--module", "bench.pubsub_app"], env=env,
                                    cwd=work, log=work / f"subscriber-{n}.log"))
    pubsub_load(env, "ready", subscribers)
    return env


def call_load(env: dict[str, str], mode: str, target: str, calls: int, concurrency: int) -> dict[str, float]:
    argv = [sys.executable, str(ROOT / "bench" / "load.py"), mode, target, str(calls), str(concurrency), "add"]
    return json.loads(client(argv, env=env))  # type: ignore[no-any-return]


def pubsub_load(env: dict[str, str], *args: object) -> dict[str, float]:
    out = client([sys.executable, str(ROOT / "bench" / "pubsub_load.py"), *map(str, args)], env=env)
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=6000, help="calls per row and round (default 6000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per pub/sub row and round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, interleaved (default 3)")
    parser.add_argument("--subscribers", type=int, default=10, help="pub/sub subscribers (default 10)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="micro-bench-peers-"))
    skipped = moleculer_ready()
    if skipped:
        print(skipped, file=sys.stderr, flush=True)
    subs = args.subscribers
    calls: dict[str, Callable[[int], dict[str, float]]] = {}
    pubsub: dict[str, Callable[[], dict[str, float]]] = {}
    samples: dict[tuple[str, object], list[dict[str, float]]] = {}
    with ExitStack() as stack:
        floor_port = free_port()
        stack.enter_context(running([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(floor_port), "add"]))
        wait_port(floor_port)
        fan_ports = [free_port() for _ in range(subs)]
        for port in fan_ports:
            stack.enter_context(running([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(port), "noform"]))
            wait_port(port)
        micro_env = start_micro(stack, subs, work)
        calls["floor"] = lambda c: call_load(environment(), "agent", f"http://127.0.0.1:{floor_port}/", args.calls, c)
        calls["micro"] = lambda c: call_load(micro_env, "micro", "add", args.calls, c)
        pubsub["floor"] = lambda: pubsub_load(micro_env, "throughput", args.seconds, 1, *fan_ports)
        pubsub["micro"] = lambda: pubsub_load(micro_env, "throughput", args.seconds, 1)
        if not skipped:
            moleculer = Moleculer(stack, subs, work)
            calls["Moleculer"] = lambda c: moleculer.calls(args.calls, c)
            pubsub["Moleculer, 1 node"] = lambda: moleculer.publish(args.seconds, one_node=True)
            pubsub["Moleculer, N nodes"] = lambda: moleculer.publish(args.seconds, one_node=False)
            pubsub["Moleculer, acked"] = lambda: moleculer.publish(args.seconds, one_node=False, acked=True)
        for number in range(args.rounds):
            print(f"round {number + 1} of {args.rounds} ...", file=sys.stderr, flush=True)
            for who, run in calls.items():
                for concurrency in (1, 10):
                    samples.setdefault((who, concurrency), []).append(run(concurrency))
            for who, publish in pubsub.items():
                samples.setdefault((who, "pubsub"), []).append(publish())
    medians = {key: {figure: statistics.median(r[figure] for r in runs) for figure in runs[0]}
               for key, runs in samples.items()}
    report(medians, list(calls), list(pubsub), args, skipped)


def report(medians: dict[tuple[str, object], dict[str, float]], calls: list[str], pubsub: list[str],
           args: argparse.Namespace, skipped: str) -> None:
    names = {"floor": "Twisted floor: bare Agent -> bare Resource", "micro": "micro: call_service -> twistd service",
             "Moleculer": "Moleculer 0.14: broker.call over TCP"}
    rows = [[names[who], c, *(medians[who, c][f] for f in CALL_FIGURES)] for who in calls for c in (1, 10)]
    print(f"add: {args.calls} calls per row, median of {args.rounds} interleaved rounds")
    print(table(["calls", "callers", "calls/s", "mean us", "p50 us", "p99 us"], rows))
    fan = {"floor": "Twisted floor: bare fan-out", "micro": "micro: publish via registry",
           "Moleculer, 1 node": "Moleculer 0.14: broadcast, subscribers in 1 node",
           "Moleculer, N nodes": f"Moleculer 0.14: broadcast, {args.subscribers} subscriber nodes",
           "Moleculer, acked": f"Moleculer 0.14: calls to {args.subscribers} subscriber nodes, acked"}
    rows = [[fan[who], *(medians[who, "pubsub"][f] for f in PUBSUB_FIGURES)] for who in pubsub]
    print(f"\npub/sub: 1 publisher, {args.subscribers} subscribers, {args.seconds:g} s per row, "
          f"median of {args.rounds} interleaved rounds")
    print(table(["pub/sub", "deliveries/s", "publishes/s", "errors"], rows))
    print()
    for c in (1, 10):
        ratios = [f"micro/floor calls/s = {medians['micro', c]['rate'] / medians['floor', c]['rate']:.2f}"]
        if "Moleculer" in calls:
            ratios += [f"micro/Moleculer {label} = {medians['micro', c][f] / medians['Moleculer', c][f]:.2f}"
                       for label, f in (("calls/s", "rate"), ("mean", "mean_us"), ("p50", "p50_us"), ("p99", "p99_us"))]
        print(f"{c:>2} callers: " + "   ".join(ratios))
    micro_rate = medians["micro", "pubsub"]["delivery_rate"]
    ratios = [f"micro/floor = {micro_rate / medians['floor', 'pubsub']['delivery_rate']:.2f}"]
    ratios += [f"micro/{who} = {micro_rate / medians[who, 'pubsub']['delivery_rate']:.2f}"
               for who in pubsub if who.startswith("Moleculer")]
    print("deliveries/s: " + "   ".join(ratios))
    if skipped:
        print(skipped)


if __name__ == "__main__":
    main()
