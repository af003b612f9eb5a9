# -*- test-case-name: tests.registry.test_endpoint -*-
"""
Running a registry inside the current process: L{start_registry} and the
L{RegistryServer} it returns.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from micro._http.limits import BodyLimits
from micro._kernel.observer import Observability
from micro._http.site import MicroSite, make_site
from micro._kernel.config import Settings, listen_interface, split_registry_urls
from micro._kernel.deferreds import Once
from micro._kernel.validation import host_text, split_url
from micro._registry.stack import RegistryStack
from micro._registry.state import DEFAULT_TTL, RegistryState
from micro._registry.store.redis import RedisStore
from micro._registry.store.redis_address import parse_store_url

# Connections the kernel may hold for the registry before it accepts them.
# Twisted's default (50) drops the connections of a restarted registry's
# nodes when thousands come back at once; the kernel caps it (somaxconn).
LISTEN_BACKLOG = 4096


class OpenRegistryRefused(RuntimeError):
    """
    Production mode and no token: the registry would be open to anyone.
    """


@define
class RegistryServer:
    """
    A registry listening in this process.

    @ivar url: Where it answers.
    """

    url: str
    stack: RegistryStack
    _port: IListeningPort
    _site: MicroSite
    loaded: Deferred[None] = field(factory=Deferred)
    _stopping: Once = field(factory=Once)
    _before_stop: list[Callable[[], Any]] = field(factory=list)

    _log = Logger()

    @property
    def state(self) -> RegistryState:
        """
        What the registry holds: instances, nodes, leases.
        """
        return self.stack.state

    def __repr__(self) -> str:
        return f"RegistryServer(url={self.url!r})"

    def before_terminate(self, hook: Callable[[], Any]) -> None:
        """
        Run C{hook} (which may return a Deferred) when L{terminate} starts,
        while the registry still answers.
        """
        self._before_stop.append(hook)

    def terminate(self) -> Deferred[None]:
        """
        Stop listening, answer pending watches, close connections, cancel
        every timer.  Safe to call more than once.
        """
        return self._stopping(self._terminate)

    async def _terminate(self) -> None:
        for hook in self._before_stop:
            await maybeDeferred(hook)
        await self.stack.shut_down(self._port, self._site)
        self._log.info("registry at {url} stopped", url=self.url)


def start_registry(reactor: Any, url: str | None = None, *, ttl: float = DEFAULT_TTL,
                   token: str | None = None, settings: Settings | None = None,
                   limits: BodyLimits = BodyLimits(), store: str | None = None,
                   observability: Observability | None = None) -> RegistryServer:
    """
    Listen for registry commands at C{url} (default: C{MICRO_REGISTRY_URL}).

    A loopback host listens on loopback only; any other host on every
    interface.  Port 0 picks a free port, reflected in the returned C{url}.
    C{store} is C{"memory"} (the default) or a C{redis://} URL whose
    cluster state this registry shares; its C{loaded} fires once it
    holds that state.
    """
    settings = settings or Settings.from_environ()
    url = url or split_registry_urls(settings.registry_url)[0]
    scheme, host, port, _ = split_url(url, "registry URL")
    if token is None:
        token = settings.token
    if settings.production and not token:
        raise OpenRegistryRefused("MICRO_ENV=production needs a registry token (MICRO_REGISTRY_TOKEN or "
                                  "token=...); refusing to start an open registry")
    address = parse_store_url(store or "")
    shared = None if address is None else RedisStore(address, reactor, ttl)
    stack = RegistryStack.build(reactor, ttl=ttl, token=token, development=settings.development, limits=limits,
                                store=shared, observability=observability, production=settings.production)
    site = make_site(stack.resource, reactor)
    listening = reactor.listenTCP(port if port is not None else 80, site, backlog=LISTEN_BACKLOG,
                                  interface=listen_interface(host))
    actual = listening.getHost().port
    stack.listening_on(actual)
    server_url = f"{scheme}://{host_text(host)}:{actual}"
    RegistryServer._log.info("registry listening at {url}", url=server_url)
    server = RegistryServer(server_url, stack, listening, site)
    stack.start().chainDeferred(server.loaded)
    return server
