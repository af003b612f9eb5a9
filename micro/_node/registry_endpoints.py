# -*- test-case-name: tests.node.test_registry_client -*-
"""
The registries a node knows, and the one it talks to now.

C{MICRO_REGISTRY_URL} (or C{--registry}) names one registry, several
separated by commas, or one host name with several addresses (a
Kubernetes headless service): those addresses become the registries, once
resolved.  A node talks to one at a time and moves to the next when it
fails; registries that share a store all know the node.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Callable
from urllib.parse import urlsplit

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IResolutionReceiver
from twisted.logger import Logger
from zope.interface import implementer

from micro._kernel.config import LOOPBACK_HOSTS, split_registry_urls
from micro._kernel.validation import host_text

# Names are resolved again at most this often, when the node moves on.
RESOLVE_INTERVAL = 10.0

Resolve = Callable[[str, int], Deferred[list[str]]]


def name_resolver(reactor: Any) -> Resolve:
    """
    Resolve host names with C{reactor}'s resolver: every address a name has.
    """
    def resolve(host: str, port: int) -> Deferred[list[str]]:
        found: list[str] = []
        d: Deferred[list[str]] = Deferred()

        @implementer(IResolutionReceiver)
        class Receiver:
            def resolutionBegan(self, resolution: Any) -> None:
                pass

            def addressResolved(self, address: Any) -> None:
                if address.host not in found:
                    found.append(address.host)

            def resolutionComplete(self) -> None:
                d.callback(found)

        reactor.nameResolver.resolveHostName(Receiver(), host, port)
        return d
    return resolve


def _resolvable(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


@define
class RegistryEndpoints:
    """
    The registry URLs, in order, and which one is current.

    @ivar configured: The URL (or URLs) as given.
    """

    configured: str
    _clock: Any = None
    _resolve: Resolve | None = None
    urls: list[str] = field(init=False)
    _index: int = field(default=0, init=False)
    _resolved_at: float = field(default=float("-inf"), init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self.urls = split_registry_urls(self.configured)

    @property
    def current(self) -> str:
        return self.urls[self._index]

    @property
    def several(self) -> bool:
        return len(self.urls) > 1

    def failed(self, url: str) -> None:
        """
        C{url} failed: move to the next registry (if C{url} is still the
        current one), and look the name up again if it is time.
        """
        if self.urls[self._index] == url and self.several:
            self._index = (self._index + 1) % len(self.urls)
            self._log.info("registry {url} failed; moving to {next}", url=url, next=self.current)
        self.resolve()

    def resolve(self) -> None:
        """
        Look up the addresses of a single registry host name in the
        background; several addresses become several registries.
        """
        configured = split_registry_urls(self.configured)
        if self._resolve is None or len(configured) != 1 or self._clock is None:
            return
        now = self._clock.seconds()
        if now - self._resolved_at < RESOLVE_INTERVAL:
            return
        parts = urlsplit(configured[0])
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        if not _resolvable(host):
            return
        self._resolved_at = now
        try:
            d = self._resolve(host, port)
        except Exception:
            return
        d.addCallback(self._found, parts.scheme, port, parts.path.rstrip("/"))
        d.addErrback(lambda f: self._log.info("could not resolve {host}: {error}", host=host,
                                              error=f.getErrorMessage()))

    def _found(self, addresses: list[str], scheme: str, port: int, path: str) -> None:
        if len(addresses) < 2:
            return
        current = self.current
        self.urls = [f"{scheme}://{host_text(address)}:{port}{path}" for address in addresses]
        self._index = self.urls.index(current) if current in self.urls else 0
        self._log.info("registry name resolves to {count} registries: {urls}", count=len(self.urls),
                       urls=", ".join(self.urls))
