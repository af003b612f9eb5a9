"""
Registry scale: 10,000 instances, registered from a few client processes
that each simulate many nodes (bench/scale_nodes.py), then one change that
must reach every node.

    python bench/bench_scale.py [--instances 10000] [--processes 4] [--mix realistic,harsh]

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

from bench._common import (  # noqa: E402
    ROOT,
    TWISTD,
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
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment())
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


def run_mix(name: str, instances: int, processes: int, work: Path, profile: bool = False) -> list[object]:
    per_node, mode, ttl = MIXES[name]
    nodes = instances // per_node
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    profiling = ["--profile", str(work / f"registry-{name}.pstats"), "--profiler", "cprofile", "--savestats"]
    registry_argv = [TWISTD, *(profiling if profile else []), "-n", "micro-registry",
                     "--listen", f"tcp:{port}:interface=127.0.0.1", "--ttl", str(ttl)]
    with ExitStack() as stack:
        registry = stack.enter_context(running(registry_argv, cwd=work, log=work / f"registry-{name}.log"))
        wait_port(port)
        share = -(-nodes // processes)
        argvs = [[sys.executable, NODES, url, str(first), str(min(share, nodes - first)), str(per_node),
                  str(SERVICES), mode] for first in range(0, nodes, share)]
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
        status = proc_status(registry.pid)
        clients.quit()
    return [name, instances, nodes, len(argvs), f"{ttl:g}", registered, retries, synced, seen,
            status["rss"], status["peak"], status["cpu"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=4, help="simulated-node processes (default 4)")
    parser.add_argument("--mix", default="realistic,harsh", help="realistic, harsh or both (default)")
    parser.add_argument("--profile", action="store_true", help="profile the registry (cProfile stats in the work dir)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="micro-bench-scale-"))
    rows = [run_mix(name, args.instances, args.processes, work, args.profile) for name in args.mix.split(",")]
    print(f"work directory: {work}")
    print(table(["mix", "instances", "nodes (watches)", "node procs", "ttl (s)", "register all (s)", "re-registered",
                 "all tables whole (s)", "change seen by all (s)", "registry RSS (MB)", "peak RSS (MB)",
                 "registry CPU (s)"], rows))
    print("targets: register all < 30 s, change seen by all < 5 s, registry RSS < 200 MB")
    # The targets are absolute: say how fast this machine is, to compare runs.
    print(f"machine pace: a 10-million-step Python loop takes {machine_pace():.2f} s")


if __name__ == "__main__":
    main()
