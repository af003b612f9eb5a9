"""
Registry scale: 10,000 instances, registered from a few client processes
that each simulate many nodes (bench/scale_nodes.py), then one change that
must reach every node.

    python bench/bench_scale.py [--instances 10000] [--processes 4] [--mix realistic,harsh]
    python bench/bench_scale.py --registries 1,2,4 [--mix harsh]

Each node holds one watch on the registry (one connection), as real nodes
do.  Two mixes:

  realistic  1,000 nodes of 10 instances each: processes hosting several
             services (``twistd micro-service`` hosts every service of a
             module);
  harsh      10,000 nodes of one instance each: as many watch connections
             as instances, with the registry at --ttl 20 (a watch answered
             every 10 s).  Liveness costs one watch per node per hold: with
             the default 4 s lease that is 5,000 requests per second for
             10,000 nodes, which the registry serves but 10,000 simulated
             nodes sharing this machine's two cores with it do not send.

Every tenth node (realistic) or hundredth (harsh) is a real TableWatcher
that decodes and applies every change, and the run checks that their
tables end up whole; the others are bare HTTP clients that only read the
version from each reply: real nodes each have a CPU of their own, while
here they share two with the registry, whose work is the same either way.
The simulated instances share one port per process, told apart by their
paths; each process answers the registry's check of every location
(GET .../_micro/health).

Per mix: the time to register every instance (all nodes watching all
along), the time until every node's table holds all of them, the time
until every node has seen one more change, and the registry's resident
memory (now and peak) and CPU time.  Targets (issue 5): register < 30 s,
change seen < 5 s, registry RSS < 200 MB.

With --registries N (several counts, comma-separated), each mix runs
once per count over N registries sharing a redis-server that the run
starts for itself (on a free port, no persistence): the node processes
are spread over the registries (process k watches and registers through
registry k mod N), the change is made through the first one, and the
table also gives each registry's RSS and Redis's memory (used_memory).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests._redis import RedisServer  # noqa: E402
from bench._common import (  # noqa: E402
    ROOT,
    TWISTD,
    die_with_parent,
    environment,
    free_port,
    machine_pace,
    running,
    table,
    wait_port,
)

NODES = str(ROOT / "bench" / "scale_nodes.py")
SERVICES = 100
# mix: (instances per node, node mode, registry --ttl)
MIXES = {"realistic": (10, "sampled:10", 4.0), "harsh": (1, "sampled:100", 20.0)}


def command(url: str, document: Any) -> Any:
    request = urllib.request.Request(url, json.dumps(document).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def proc_status(pid: int) -> dict[str, float]:
    """
    Resident memory now and at its peak (MB), and CPU seconds, of C{pid}.
    """
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = 100.0
    return {
        "rss": int(fields["VmRSS"].split()[0]) / 1024,
        "peak": int(fields["VmHWM"].split()[0]) / 1024,
        "cpu": (int(stat[11]) + int(stat[12])) / ticks,
    }


class Clients:
    """
    The simulated-node processes, spoken to by lines on their stdin/stdout.
    """

    def __init__(self, stack: ExitStack, argvs: list[list[str]]):
        self.processes = []
        for argv in argvs:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment(),
                                       preexec_fn=die_with_parent)
            stack.callback(_stop, process)
            self.processes.append(process)

    def tell(self, line: str) -> float:
        now = time.time()
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(line.encode() + b"\n")
            process.stdin.flush()
        return now

    def quit(self, timeout: float = 15) -> None:
        """
        Ask every process to exit and wait for it (a signal on top of a
        shutdown in progress only makes its reactor complain).
        """
        self.tell("quit")
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass  # the exit stack stops it

    def each(self, key: str, timeout: float = 300) -> Iterator[dict[str, Any]]:
        """
        The next line holding C{key} from every process.
        """
        deadline = time.monotonic() + timeout
        for process in self.processes:
            assert process.stdout is not None
            while time.monotonic() < deadline:
                raw = process.stdout.readline()
                if not raw:
                    raise RuntimeError(f"a node process exited ({process.poll()}) waiting for {key!r}")
                line = json.loads(raw)
                if "error" in line:
                    raise RuntimeError(f"a node process failed: {line['error']}")
                if key in line:
                    yield line
                    break
            else:
                raise RuntimeError(f"no {key!r} within {timeout}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def run_mix(name: str, instances: int, processes: int, work: Path, profile: bool = False,
            registries: int = 0) -> list[object]:
    """
    One mix over one registry with the memory store (C{registries} 0), or
    over C{registries} registries sharing a Redis store.
    """
    per_node, mode, ttl = MIXES[name]
    nodes = instances // per_node
    ports = [free_port() for _ in range(max(registries, 1))]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    url = urls[0]
    with ExitStack() as stack:
        store = []
        redis = None
        if registries:
            redis = RedisServer(work).start()
            stack.callback(redis.stop)
            store = ["--store", redis.url]
        pids = []
        for n, port in enumerate(ports):
            profiling = ["--profile", str(work / f"registry-{name}-{n}.pstats"), "--profiler", "cprofile",
                         "--savestats"]
            registry_argv = [TWISTD, *(profiling if profile else []), "-n", "micro-registry",
                             "--listen", f"tcp:{port}:interface=127.0.0.1", "--ttl", str(ttl), *store]
            pids.append(stack.enter_context(running(registry_argv, cwd=work,
                                                    log=work / f"registry-{name}-{n}.log")).pid)
            wait_port(port)
        share = -(-nodes // processes)
        argvs = [[sys.executable, NODES, urls[k % len(urls)], str(first), str(min(share, nodes - first)),
                  str(per_node), str(SERVICES), mode] for k, first in enumerate(range(0, nodes, share))]
        clients = Clients(stack, argvs)
        first_port = list(clients.each("ready"))[0]["port"]
        started = clients.tell("go")
        registrations = list(clients.each("registered"))
        registered = max(line["registered"] for line in registrations) - started
        retries = sum(line["retries"] + line["rejoins"] for line in registrations)
        version = command(url, {"heartbeat": {"node": "bench-scale"}})["version"]
        clients.tell(f"sync {version}")
        synced_lines = list(clients.each("synced"))
        synced = max(line["synced"] for line in synced_lines) - started
        counts = {count for line in synced_lines for count in line["instances"]}
        assert counts <= {instances}, f"tables hold {counts} instances, not {instances}"
        clients.tell(f"sync {version + 1}")
        changed = time.time()
        command(url, {"unregister": {"service": "svc-0", "location": f"http://127.0.0.1:{first_port}/0/0"}})
        seen = max(line["synced"] for line in clients.each("synced")) - changed
        statuses = [proc_status(pid) for pid in pids]
        redis_mb = redis.memory() / 2**20 if redis is not None else None
        clients.quit()
    rss = "/".join(f"{s['rss']:.0f}" for s in statuses)
    peak = "/".join(f"{s['peak']:.0f}" for s in statuses)
    cpu = "/".join(f"{s['cpu']:.1f}" for s in statuses)
    store_name = f"redis x{registries}" if registries else "memory x1"
    return [name, store_name, instances, nodes, len(argvs), f"{ttl:g}", registered, retries, synced, seen,
            rss, peak, cpu, "-" if redis_mb is None else f"{redis_mb:.1f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=4, help="simulated-node processes (default 4)")
    parser.add_argument("--mix", default="realistic,harsh", help="realistic, harsh or both (default)")
    parser.add_argument("--profile", action="store_true", help="profile the registry (cProfile stats in the work dir)")
    parser.add_argument("--registries", default="",
                        help="registry counts on a Redis store, like 1,2,4 (default: one registry, memory store)")
    args = parser.parse_args()
    counts = [int(n) for n in args.registries.split(",") if n] or [0]
    work = Path(tempfile.mkdtemp(prefix="micro-bench-scale-"))
    rows = []
    for name in args.mix.split(","):
        for count in counts:
            try:
                rows.append(run_mix(name, args.instances, args.processes, work, args.profile, count))
            except RuntimeError as e:  # a loaded machine: say so, and go on with the other runs
                print(f"failed: {name} over {count or 1} registries: {str(e)[:300]}", flush=True)
                continue
            print(f"done: {name} over {count or 1} registries: {rows[-1]}", flush=True)
    print(f"work directory: {work}")
    print(table(["mix", "store", "instances", "nodes (watches)", "node procs", "ttl (s)", "register all (s)",
                 "re-registered", "all tables whole (s)", "change seen by all (s)", "RSS per registry (MB)",
                 "peak RSS (MB)", "CPU per registry (s)", "Redis (MB)"], rows))
    print("targets: register all < 30 s, change seen by all < 5 s, registry RSS < 200 MB")
    # The targets are absolute: say how fast this machine is, to compare runs.
    print(f"machine pace: a 10-million-step Python loop takes {machine_pace():.2f} s")


if __name__ == "__main__":
    main()
