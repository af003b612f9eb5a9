# -*- test-case-name: tests.testing.test_memory -*-
"""
A registry and nodes on one in-memory network, on a fake clock.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Coroutine, TypeVar
from urllib.parse import urlsplit

from attrs import define, evolve, field
from treq.client import HTTPClient
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from micro._app.hosting import App, start_app, stop_app
from micro._app.loader import load_app_module
from micro._app.node import Node
from micro._http.client import HttpClient
from micro._http.site import MicroSite, make_site
from micro._kernel.config import Settings, split_registry_urls
from micro._kernel.observer import Observability
from micro._registry.stack import RegistryStack
from micro._registry.state import DEFAULT_TTL
from micro._registry.store.memory import MemoryStore
from micro._testing.memory_network import MemoryNetwork
from micro._testing.replies import HttpReply, fetching, treq_client

T = TypeVar("T")

REGISTRY_HOST = "registry.test"
REGISTRY_URL = f"http://{REGISTRY_HOST}:9999"


@define(eq=False)
class MemoryRegistry:
    """
    A registry on a L{MemoryCluster}.

    @ivar url: Where it answers (L{REGISTRY_URL}).
    @ivar stack: micro's own parts of the registry, for micro's tests; not
        a stable API.
    """

    url: str
    stack: RegistryStack
    _cluster: MemoryCluster

    def __repr__(self) -> str:
        return f"MemoryRegistry(url={self.url!r})"

    def table(self) -> dict[str, list[str]]:
        """
        Every service and the locations of its instances.
        """
        return self.stack.state.table()

    def routes(self) -> dict[str, str]:
        """
        Every route: its path and the service it leads to.
        """
        return {entry.path: entry.service for entry in self.stack.routes.table.entries()}

    def stop(self) -> None:
        """
        Take the registry off the network, as if its process died.
        """
        self._cluster.stop_registry(self)


@define(eq=False)
class MemoryCluster:
    """
    A registry and nodes on one in-memory network, on a fake clock: real
    HTTP parsing on both sides, no sockets, no waiting.  Nothing needs
    tearing down.
    """

    network: MemoryNetwork = field(factory=MemoryNetwork)
    settings: Settings = field(factory=lambda: Settings(registry_url=REGISTRY_URL))
    stacks: list[RegistryStack] = field(factory=list)
    _apps: dict[int, App] = field(factory=dict, init=False)

    def __repr__(self) -> str:
        return f"<MemoryCluster: {len(self.stacks)} registries, t={self.clock.seconds():g}s>"

    @property
    def clock(self) -> Any:
        """
        The fake clock every node and registry of the cluster runs on.
        """
        return self.network.reactor

    # -- the processes --------------------------------------------------------

    def registry(self, *, ttl: float = DEFAULT_TTL, token: str | None = None,
                 spacing_per_watcher: float = 0.0, url: str | None = None,
                 store: MemoryStore | None = None, observability: Observability | None = None,
                 production: bool = False, tracer_provider: Any = None) -> MemoryRegistry:
        """
        Start a registry at C{url} (default: L{REGISTRY_URL}, or the first
        of the settings' registry URLs).

        Table changes reach watchers on the next settle: unlike a real
        registry, this one does not space its broadcasts out in time
        unless given C{spacing_per_watcher}.  Registries given one
        C{store} share the cluster's state, as registries on one Redis do.

        @param observability: Metrics, access log, tracing, as
            C{twistd micro-registry} options ask for them; C{production}:
            whether its operators' pages need the token.
        """
        url = url or split_registry_urls(self.settings.registry_url)[0]
        parts = urlsplit(url)
        stack = RegistryStack.build(self.clock, ttl=ttl, token=token, http=self._http(parts.hostname or REGISTRY_HOST),
                                    spacing_per_watcher=spacing_per_watcher, store=store,
                                    observability=observability, production=production,
                                    tracer_provider=tracer_provider)
        self.network.listen(url, make_site(stack.resource, self.clock))
        stack.listening_on(parts.port or 80)
        self.stacks.append(stack)
        return MemoryRegistry(url, stack, self)

    def stop_registry(self, registry: MemoryRegistry | RegistryStack) -> None:
        """
        Take a registry off the network, as if its process died: its
        connections drop and its timers stop (a registry sharing a store
        with others leaves the state and its leases to them).
        """
        if isinstance(registry, MemoryRegistry):
            stack, url = registry.stack, registry.url
        else:
            stack, url = registry, split_registry_urls(self.settings.registry_url)[0]
        self.network.kill(urlsplit(url).hostname or REGISTRY_HOST)
        stack.hub.stop()
        stack.reads.stop()
        stack.pubsub.stop()
        stack.state.stop()

    def node(self, *, home: str = "http://node.test", token: str | None = None,
             observability: Observability | None = None, tracer_provider: Any = None, **settings: Any) -> Node:
        """
        A node (a process) whose services get locations on C{home}.

        @param observability: Metrics, access log, tracing, as
            C{twistd micro-service} options ask for them.
        """
        node_settings = evolve(self.settings, service_url=home, token=token, **settings)
        origin = urlsplit(home).hostname or "node.test"
        return Node.create(self.clock, node_settings, http=self._http(origin), listen=self.network.listen,
                           observability=observability, tracer_provider=tracer_provider)

    def load(self, app: ModuleType | str, *, node: Node | None = None, home: str = "http://app.test") -> Node:
        """
        Host an app module as C{twistd micro-service --module} does: run its
        C{@micro.on_start} hooks, then host its marked services, routes and
        subscriptions, in C{node} (default: a new node on C{home}).

        @param app: The module, or its name or file path.
        @return: The node.
        """
        module = load_app_module(app) if isinstance(app, str) else app
        node = node or self.node(home=home)
        loaded = App.of(module)
        self.result(start_app(node, loaded))
        self._apps[id(node)] = loaded
        return node

    def unload(self, node: Node) -> None:
        """
        Stop C{node} as SIGTERM stops C{twistd micro-service}: unregister and
        drain, then run the C{@micro.on_stop} hooks of the app it hosts.
        """
        self.result(node.terminate())
        app = self._apps.pop(id(node), None)
        if app is not None:
            self.result(stop_app(node, app))

    # -- HTTP from outside ------------------------------------------------------

    def client(self, origin: str = "client.test") -> HTTPClient:
        """
        A treq client on a host of its own (C{treq.HTTPClient}: C{.get},
        C{.post}, ...), for requests to the registry (L{REGISTRY_URL}) or to
        instances; pass what it returns to L{result}.
        """
        return treq_client(self.network.agent(origin=origin))

    def request(self, method: str, path: str, **options: Any) -> HttpReply:
        """
        Send one request to the registry's front door (C{path} like
        C{"/api/users?id=1"}) and return the whole reply.

        @param options: C{json=} (a body sent as JSON), C{data=} (bytes or
            text), C{headers=} (a dict), C{params=} (query parameters).
        """
        return self.result(fetching(self.client(), method, self.settings.registry_url + path, **options))

    def get(self, path: str, **options: Any) -> HttpReply:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> HttpReply:
        return self.request("POST", path, **options)

    # -- failures ---------------------------------------------------------------

    def drop_connections(self, url: str) -> None:
        """
        Close every connection the server at C{url} accepted, as its process
        closing its sockets would; it still listens for new ones.
        """
        site = self._server_at(url)
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

    # -- time ---------------------------------------------------------------------

    def settle(self) -> None:
        """
        Deliver everything in flight, without moving the clock.
        """
        self.network.settle()

    def advance(self, seconds: float) -> None:
        """
        Move the clock: timers, timeouts, leases and TTLs follow.
        """
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
            raise AssertionError(f"{work!r} did not finish once the network settled; if it waits on "
                                 "time, advance() the clock first (services wait on ctx.clock)")
        if isinstance(outcome[0], Failure):
            outcome[0].raiseException()
        return outcome[0]  # type: ignore[no-any-return]

    # -- for micro's own tests ------------------------------------------------------

    def _http(self, origin: str = "client.test") -> HttpClient:
        """
        micro's own HTTP client for a new process on the host C{origin}.
        """
        return HttpClient(self.clock, self.network.agent(origin=origin))

    def _server_at(self, url: str) -> MicroSite | None:
        parts = urlsplit(url)
        site = self.network.server_at(parts.hostname or "", parts.port or 80)
        return site if isinstance(site, MicroSite) else None
