"""
Simulated nodes for bench_scale.py, run as their own process: NODES nodes
that each hold INSTANCES service instances and follow the registry's table
by watching it, as real nodes do.

    python bench/scale_nodes.py REGISTRY_URL FIRST NODES INSTANCES SERVICES MODE

MODE "full": each node is a real TableWatcher with its own ServiceTable
(it decodes and applies every change).  MODE "thin": each node is a bare
HTTP/1.1 client that only reads the version out of each watch reply
(stands in for nodes that have a CPU of their own: the registry does the
same work either way).  MODE "sampled:K":
every Kth node is full, the others thin; the full ones check that real
tables end up whole.

Instance J of node N is at http://127.0.0.1:PORT/N/J, PORT being one port
this process listens on for all of them: it answers the registry's check
of each location (GET /N/J/_micro/health) and nothing else.  Instance J of
node N belongs to service "svc-K", K = (N * INSTANCES + J) % SERVICES.

Talks JSON lines with its parent (stdin / stdout):

    -> {"ready": t, "port": p}     every node has loaded the table once
    <- go                          register every instance
    -> {"registered": t, "count": n, "retries": r, "rejoins": j}   (or {"error": why})
    <- sync V                      report when every node holds version V
    -> {"synced": t, "instances": n}   (n: instances in one node's table)
    <- quit
"""

from __future__ import annotations

import gc
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import stdio, task  # noqa: E402
from twisted.internet.defer import Deferred, DeferredSemaphore, gatherResults  # noqa: E402
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol  # noqa: E402
from twisted.internet.protocol import Protocol  # noqa: E402
from twisted.protocols.basic import LineReceiver  # noqa: E402
from twisted.web.resource import Resource  # noqa: E402

from micro._calls.balancer import RoundRobin  # noqa: E402
from micro._http.client import HttpClient  # noqa: E402
from micro._http.site import make_site  # noqa: E402
from micro._kernel.codec import dumps  # noqa: E402
from micro._kernel.errors import HttpError  # noqa: E402
from micro._node.registry_client import RegistryClient  # noqa: E402
from micro._node.table import ServiceTable  # noqa: E402
from micro._node.table_watcher import TableWatcher  # noqa: E402

REGISTER_CONCURRENCY = 32
_VERSION = re.compile(rb'"epoch":"([0-9a-f]*)","version":(\d+)')
_LENGTH = re.compile(rb"(?i)content-length: *(\d+)")


def emit(line: dict[str, Any]) -> None:
    print(json.dumps(line), flush=True)


class ThinNode(Protocol):
    """
    A node that watches like a real one, over one connection of its own,
    but keeps only the version: a minimal HTTP/1.1 client, so that 2,500 of
    them in one process cost it little next to what they cost the registry.
    """

    def __init__(self, host: bytes, node_id: str, rejoin: Callable[[], Deferred[Any]], reactor: Any = None):
        self.reactor = reactor
        self.host = host
        self.node_id = node_id
        self.rejoin = rejoin
        self.epoch = ""
        self.version = -1
        self.waiters: list[tuple[int, Callable[[], None]]] = []
        self.buffer = b""

    def connectionMade(self) -> None:
        self.buffer = b""
        self.send()

    def send(self) -> None:
        body = dumps({"watch": {"node": self.node_id, "epoch": self.epoch, "version": self.version}})
        self.transport.write(b"POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"  # type: ignore[union-attr]
                             b"Content-Length: %d\r\n\r\n%s" % (self.host, len(body), body))

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        length = _LENGTH.search(self.buffer, 0, end)
        assert length is not None, self.buffer[:end]
        size = end + 4 + int(length.group(1))
        if len(self.buffer) < size:
            return
        body, self.buffer = self.buffer[end + 4:size], self.buffer[size:]
        Deferred.fromCoroutine(self.answered(body))

    async def answered(self, body: bytes) -> None:
        match = _VERSION.search(body, 0, 200)
        if match is None:
            # An error (a registry not ready says so with a 503): watch again soon, as nodes do.
            await task.deferLater(self.reactor, 1.0)
            self.send()
            return
        self.epoch, self.version = match.group(1).decode(), int(match.group(2))
        if b'"known":false' in body[-200:] and self.version > 0:
            try:
                await self.rejoin()  # evicted (or the registry restarted): register again
            except Exception:
                pass  # the next watch says again whether it is known
        ready = [w for w in self.waiters if w[0] <= self.version]
        self.waiters = [w for w in self.waiters if w[0] > self.version]
        for _, callback in ready:
            callback()
        self.send()

    def wait_for(self, version: int) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if self.version >= version:
            d.callback(None)
        else:
            self.waiters.append((version, lambda: d.callback(None)))
        return d


class Health(Resource):
    """
    C{GET /N/J/_micro/health}: instance J of node N says which service it is.
    """

    isLeaf = True

    def __init__(self, service_of: Callable[[int, int], str]):
        super().__init__()
        self._service_of = service_of

    def render_GET(self, request: Any) -> bytes:
        _, node, index, *_ = request.path.split(b"/")
        request.setHeader(b"content-type", b"application/json")
        return dumps({"micro": True, "service": self._service_of(int(node), int(index))})


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
        self.registry_port = int(url.rsplit(":", 1)[1])
        self.registry_host = url.split("://", 1)[1].encode()
        self.mode = mode
        self.retries = 0
        self.rejoins = 0
        self.registering = False
        self.nodes: list[Any] = []
        self.done: Deferred[None] = Deferred()
        site = make_site(Health(self.service_of), reactor)
        self.port = reactor.listenTCP(0, site, interface="127.0.0.1").getHost().port

    def node_id(self, n: int) -> str:
        return f"bench-node-{n}"

    def service_of(self, n: int, j: int) -> str:
        return f"svc-{(n * self.per_node + j) % self.services}"

    def start(self) -> None:
        loaded = []
        for n in range(self.first, self.first + self.count):
            if self.mode == "full" or (self.mode.startswith("sampled:") and n % int(self.mode[8:]) == 0):
                table = ServiceTable()
                watcher = TableWatcher(self.registry, self.node_id(n), table, RoundRobin(self.reactor),
                                       self.reactor, self.rejoin_of(n))
                watcher.start()
                self.nodes.append((watcher, table))
                loaded.append(watcher.loaded())
            else:
                node = ThinNode(self.registry_host, self.node_id(n), self.rejoin_of(n), self.reactor)
                connectProtocol(TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.registry_port), node)
                self.nodes.append((node, node))
                loaded.append(node.wait_for(0))
        gatherResults(loaded).addCallback(lambda _: emit({"ready": time.time(), "port": self.port}))

    async def register(self, service: str, location: str, node: str) -> None:
        """
        Register one instance; on a 5xx try again a second later, as
        C{twistd micro-service} does (the registry may not have been able
        to check the location in time, this process being busy).
        """
        for attempt in range(10):
            try:
                await self.registry.register(service, location, node)
                return
            except HttpError as e:
                if e.status < 500 or attempt == 9:
                    raise
                self.retries += 1
                await task.deferLater(self.reactor, 1.0)

    def rejoin_of(self, n: int) -> Callable[[], Deferred[None]]:
        return lambda: Deferred.fromCoroutine(self.register_node(n))

    async def register_node(self, n: int) -> None:
        if self.registering:
            self.rejoins += 1
            for j in range(self.per_node):
                await self.register(self.service_of(n, j), f"http://127.0.0.1:{self.port}/{n}/{j}", self.node_id(n))

    async def register_all(self) -> None:
        self.registering = True
        gate = DeferredSemaphore(REGISTER_CONCURRENCY)
        work = []
        for n in range(self.first, self.first + self.count):
            for j in range(self.per_node):
                location = f"http://127.0.0.1:{self.port}/{n}/{j}"
                work.append(gate.run(lambda *a: Deferred.fromCoroutine(self.register(*a)),
                                     self.service_of(n, j), location, self.node_id(n)))
        try:
            await gatherResults(work, consumeErrors=True)
        except Exception as e:
            emit({"error": f"registering failed: {getattr(e, 'subFailure', e)}"})
            return
        emit({"registered": time.time(), "count": len(work), "retries": self.retries, "rejoins": self.rejoins})

    def sync(self, version: int) -> None:
        waits = [table.wait_for(version) for _, table in self.nodes]

        def synced(_: object) -> None:
            tables = [table for _, table in self.nodes if isinstance(table, ServiceTable)]
            counts = {sum(len(table.locations(s)) for s in table.snapshot()) for table in tables}
            emit({"synced": time.time(), "instances": sorted(counts)})
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


async def main(reactor: Any, argv: list[str]) -> None:
    gc.disable()  # a short-lived harness: no pauses to walk its million objects
    nodes = Nodes(reactor, argv)
    stdio.StandardIO(nodes, reactor=reactor)
    nodes.start()
    await nodes.done


if __name__ == "__main__":
    task.react(lambda reactor: Deferred.fromCoroutine(main(reactor, sys.argv[1:])))
