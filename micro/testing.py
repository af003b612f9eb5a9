"""
Test helpers for micro users: whole clusters in memory, on a fake clock.

    network = MemoryCluster()
    registry = network.registry()
    node = network.node()
    d = network.run(node.create_service(my_service))
    ...
    assert network.result(node.call("my_service", {"x": 1})) == {...}

Every request goes through real HTTP parsing on both sides; only the bytes
travel in memory, and time moves only when the test says so.
"""

from __future__ import annotations

from typing import Any, Coroutine, TypeVar
from urllib.parse import urlsplit

from attrs import define, evolve, field
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from micro._app.node import Node
from micro._http.client import HttpClient
from micro._http.site import MicroSite, make_site
from micro._kernel.config import Settings
from micro._registry.stack import RegistryStack
from micro._registry.state import DEFAULT_TTL
from micro._testing.memory_network import MemoryNetwork, MemoryPort

T = TypeVar("T")

REGISTRY_HOST = "registry.test"
REGISTRY_URL = f"http://{REGISTRY_HOST}:9999"


@define(eq=False)
class MemoryCluster:
    """
    A registry and nodes on one L{MemoryNetwork}.
    """

    network: MemoryNetwork = field(factory=MemoryNetwork)
    settings: Settings = field(factory=lambda: Settings(registry_url=REGISTRY_URL))
    stacks: list[RegistryStack] = field(factory=list)

    @property
    def clock(self) -> Any:
        return self.network.reactor

    def registry(self, *, ttl: float = DEFAULT_TTL, token: str | None = None,
                 spacing_per_watcher: float = 0.0) -> RegistryStack:
        """
        Start a registry at C{settings.registry_url}.

        Table changes reach watchers on the next settle: unlike a real
        registry, this one does not space its broadcasts out in time
        unless given C{spacing_per_watcher}.
        """
        stack = RegistryStack.build(self.clock, ttl=ttl, token=token, http=self.http(REGISTRY_HOST),
                                    spacing_per_watcher=spacing_per_watcher)
        self.network.listen(self.settings.registry_url, make_site(stack.resource, self.clock))
        stack.listening_on(9999)
        self.stacks.append(stack)
        return stack

    def stop_registry(self, stack: RegistryStack) -> None:
        """
        Take a registry off the network, as if its process died: its
        connections drop and its timers stop.
        """
        self.network.kill(urlsplit(self.settings.registry_url).hostname or REGISTRY_HOST)
        stack.hub.stop()
        stack.reads.stop()
        stack.pubsub.stop()
        stack.state.stop()

    def http(self, origin: str = "client.test") -> HttpClient:
        """
        An HTTP client for a new process on the host C{origin}.
        """
        return HttpClient(self.clock, self.network.agent(origin=origin))

    def node(self, *, home: str = "http://node.test", token: str | None = None, **settings: Any) -> Node:
        """
        A node whose services get locations on C{home}.
        """
        node_settings = evolve(self.settings, service_url=home, token=token, **settings)
        origin = urlsplit(home).hostname or "node.test"
        return Node.create(self.clock, node_settings, http=self.http(origin), listen=self.network.listen)

    def server_at(self, url: str) -> MicroSite | None:
        """
        The server (a site) listening at the host and port of C{url}.
        """
        parts = urlsplit(url)
        site = self.network.server_at(parts.hostname or "", parts.port or 80)
        return site if isinstance(site, MicroSite) else None

    def drop_connections(self, url: str) -> None:
        """
        Close every connection the server at C{url} accepted, as its process
        closing its sockets would; it still listens for new ones.
        """
        site = self.server_at(url)
        if site is not None:
            site.close_connections()

    def kill(self, home: str) -> None:
        """
        Kill the processes on the host of C{home}, as SIGKILL would: their
        connections drop, their ports close.  Nodes made afterwards on that
        host are new processes.
        """
        self.network.kill(urlsplit(home).hostname or home)

    def freeze(self, home: str) -> None:
        """
        Hang the processes on the host of C{home}: connections stay open,
        nothing moves to or from them until L{thaw}.
        """
        self.network.freeze(urlsplit(home).hostname or home)

    def thaw(self, home: str) -> None:
        self.network.thaw(urlsplit(home).hostname or home)

    def settle(self) -> None:
        self.network.settle()

    def advance(self, seconds: float) -> None:
        self.network.advance(seconds)

    def run(self, work: Deferred[T] | Coroutine[Any, Any, T]) -> Deferred[T]:
        """
        Start C{work} and settle the network.
        """
        d = work if isinstance(work, Deferred) else Deferred.fromCoroutine(work)
        self.settle()
        return d

    def result(self, work: Deferred[T] | Coroutine[Any, Any, T]) -> T:
        """
        Run C{work} to completion on the settled network and return its
        result, raising its exception if it failed.
        """
        d = self.run(work)
        outcome: list[Any] = []
        d.addBoth(outcome.append)
        if not outcome:
            raise AssertionError(f"{work!r} did not finish once the network settled")
        if isinstance(outcome[0], Failure):
            outcome[0].raiseException()
        return outcome[0]  # type: ignore[no-any-return]


__all__ = ["MemoryCluster", "MemoryNetwork", "MemoryPort", "REGISTRY_URL"]
