"""
Simulated nodes for bench_scale.py, run as their own process: NODES nodes
that each hold INSTANCES service instances and follow the registry's table
by watching it, as real nodes do.

    python bench/scale_nodes.py REGISTRY_URL FIRST NODES INSTANCES SERVICES MODE

MODE "full": each node is a real TableWatcher with its own ServiceTable
(it decodes and applies every change).  MODE "thin": each node only reads
the version out of each watch reply (stands in for nodes that have a CPU
of their own: the registry does the same work either way).

Instances are http://127.0.0.1:PORT/i/J, one port per node (nothing listens:
the registry never calls them).  Instance J of node N belongs to service
"svc-K", K = (N * INSTANCES + J) % SERVICES.

Talks JSON lines with its parent (stdin / stdout):

    -> {"ready": t}                every node has loaded the table once
    <- go                          register every instance
    -> {"registered": t, "count": n}
    <- sync V                      report when every node holds version V
    -> {"synced": t, "instances": n}   (n: instances in one node's table)
    <- quit
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from attrs import define, field  # noqa: E402
from twisted.internet import stdio, task  # noqa: E402
from twisted.internet.defer import Deferred, DeferredSemaphore, gatherResults, succeed  # noqa: E402
from twisted.protocols.basic import LineReceiver  # noqa: E402

from micro._balancer import RoundRobin  # noqa: E402
from micro._codec import dumps  # noqa: E402
from micro._http_client import HttpClient  # noqa: E402
from micro._registry_client import RegistryClient  # noqa: E402
from micro._table import ServiceTable  # noqa: E402
from micro._table_watcher import TableWatcher  # noqa: E402

REGISTER_CONCURRENCY = 32
_VERSION = re.compile(rb'"epoch":"([0-9a-f]*)","version":(\d+)')


def emit(line: dict[str, Any]) -> None:
    print(json.dumps(line), flush=True)


@define
class ThinNode:
    """
    A node that watches like a real one but keeps only the version.
    """

    http: HttpClient
    url: bytes
    node_id: str
    epoch: str = ""
    version: int = -1
    running: bool = True
    waiters: list[tuple[int, Callable[[], None]]] = field(factory=list)

    async def run(self) -> None:
        while self.running:
            body = dumps({"watch": {"node": self.node_id, "epoch": self.epoch, "version": self.version}})
            try:
                reply = await self.http.request(b"POST", self.url, body, None, 60)
            except Exception:
                await task.deferLater(self.http.reactor, 0.5)
                continue
            match = _VERSION.search(reply.body, 0, 200)
            if match is None:
                continue
            self.epoch, self.version = match.group(1).decode(), int(match.group(2))
            ready = [w for w in self.waiters if w[0] <= self.version]
            self.waiters = [w for w in self.waiters if w[0] > self.version]
            for _, callback in ready:
                callback()

    def wait_for(self, version: int) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if self.version >= version:
            d.callback(None)
        else:
            self.waiters.append((version, lambda: d.callback(None)))
        return d


class Nodes(LineReceiver):
    """
    The nodes of this process, driven by the parent's lines.
    """

    delimiter = b"\n"

    def __init__(self, reactor: Any, argv: list[str]):
        url, first, nodes, instances, services, mode = argv
        self.reactor = reactor
        self.first, self.count, self.per_node, self.services = int(first), int(nodes), int(instances), int(services)
        self.http = HttpClient.create(reactor, max_per_host=self.count + 2 * REGISTER_CONCURRENCY)
        self.registry = RegistryClient(self.http, url, timeout=120)
        self.mode = mode
        self.nodes: list[Any] = []
        self.done: Deferred[None] = Deferred()

    def node_id(self, n: int) -> str:
        return f"bench-node-{n}"

    def start(self) -> None:
        loaded = []
        for n in range(self.first, self.first + self.count):
            if self.mode == "full":
                table = ServiceTable()
                watcher = TableWatcher(self.registry, self.node_id(n), table, RoundRobin(self.reactor),
                                       self.reactor, lambda: succeed(None))
                watcher.start()
                self.nodes.append((watcher, table))
                loaded.append(watcher.loaded())
            else:
                node = ThinNode(self.http, url_bytes(self.registry.url), self.node_id(n))
                Deferred.fromCoroutine(node.run())
                self.nodes.append((node, node))
                loaded.append(node.wait_for(0))
        gatherResults(loaded).addCallback(lambda _: emit({"ready": time.time()}))

    async def register_all(self) -> None:
        gate = DeferredSemaphore(REGISTER_CONCURRENCY)
        work = []
        for n in range(self.first, self.first + self.count):
            port = 20000 + n % 40000
            for j in range(self.per_node):
                service = f"svc-{(n * self.per_node + j) % self.services}"
                location = f"http://127.0.0.1:{port}/i/{j}"
                work.append(gate.run(self.registry.register, service, location, self.node_id(n)))
        await gatherResults(work)
        emit({"registered": time.time(), "count": len(work)})

    def sync(self, version: int) -> None:
        waits = [table.wait_for(version) for _, table in self.nodes]

        def synced(_: object) -> None:
            table = self.nodes[0][1]
            count = sum(len(table.locations(s)) for s in table.snapshot()) if self.mode == "full" else None
            emit({"synced": time.time(), "instances": count})
        gatherResults(waits).addCallback(synced)

    def lineReceived(self, line: bytes) -> None:
        words = line.decode().split()
        if words == ["go"]:
            Deferred.fromCoroutine(self.register_all())
        elif words[:1] == ["sync"]:
            self.sync(int(words[1]))
        elif words == ["quit"]:
            self.stop()

    def connectionLost(self, reason: Any = None) -> None:
        self.stop()

    def stop(self) -> None:
        if not self.done.called:
            self.done.callback(None)


def url_bytes(url: str) -> bytes:
    return url.encode("ascii")


async def main(reactor: Any, argv: list[str]) -> None:
    nodes = Nodes(reactor, argv)
    stdio.StandardIO(nodes, reactor=reactor)
    nodes.start()
    await nodes.done


if __name__ == "__main__":
    task.react(lambda reactor: Deferred.fromCoroutine(main(reactor, sys.argv[1:])))
