# -*- test-case-name: tests.twistd.test_taps -*-
"""
Settings that come from the environment.

They are read when a component is built (a registry, a node), never at
import time, so a process can change its environment before it starts micro.
"""

from __future__ import annotations

import os
from typing import Mapping

from attrs import frozen
from hyperlink import DecodedURL

from micro._kernel.errors import InvalidArgument
from micro._kernel.validation import host_text, split_url

DEFAULT_REGISTRY_URL = "http://localhost:9999"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Where a server listens on every interface: no address to dial.
UNSPECIFIED_HOSTS = frozenset({"0.0.0.0", "::"})


def check_registry_url(url: object, what: str = "registry URL") -> str:
    """
    Return C{url} if it is an http(s) URL with a host (or several,
    separated by commas), else raise L{InvalidArgument} naming it as C{what}.
    """
    if not isinstance(url, str) or "," not in url:
        split_url(url, what)
        return url  # type: ignore[return-value]
    for part in url.split(","):
        split_url(part.strip(), what)
    return url


def check_service_url(url: object, what: str = "service URL") -> str:
    """
    Return C{url} if it can be advertised as the base URL of services:
    an http(s) URL whose host other processes can dial.
    """
    _, host, _, _ = split_url(url, what)
    if host in UNSPECIFIED_HOSTS:
        raise InvalidArgument(f"{what} {url!r} names {host}, where a server listens, not an address other "
                              "processes can reach; give this host's name or address (its services then "
                              "listen on every interface)")
    return url  # type: ignore[return-value]


@frozen
class Settings:
    """
    What the environment says about the cluster this process joins.

    @ivar registry_url: C{MICRO_REGISTRY_URL}, where the registry answers.
    @ivar service_url: C{MICRO_SERVICE_URL}, the location to advertise for
        services of this process, or C{None} to derive it from the registry.
    @ivar token: C{MICRO_REGISTRY_TOKEN}, the shared registry secret.
    @ivar environment: C{MICRO_ENV}: C{"development"}, C{"production"} or C{""}.
    """

    registry_url: str = DEFAULT_REGISTRY_URL
    service_url: str | None = None
    token: str | None = None
    environment: str = ""

    def __repr__(self) -> str:
        token = "<set>" if self.token else None  # never in a log line
        return (f"Settings(registry_url={self.registry_url!r}, service_url={self.service_url!r}, "
                f"token={token}, environment={self.environment!r})")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            registry_url=env.get("MICRO_REGISTRY_URL") or DEFAULT_REGISTRY_URL,
            service_url=env.get("MICRO_SERVICE_URL") or None,
            token=env.get("MICRO_REGISTRY_TOKEN") or None,
            environment=(env.get("MICRO_ENV") or "").strip().lower(),
        )

    def check(self) -> Settings:
        """
        Return these settings if their URLs are usable, else raise
        L{InvalidArgument} saying which is not and why.
        """
        check_registry_url(self.registry_url, "registry URL (MICRO_REGISTRY_URL)")
        if self.service_url is not None:
            check_service_url(self.service_url, "service URL (MICRO_SERVICE_URL)")
        return self

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def service_home(self) -> str:
        """
        The base URL (scheme and host, maybe a port) that services of this
        process advertise: C{MICRO_SERVICE_URL}, else the (first) registry's host.
        """
        if self.service_url:
            return self.service_url.rstrip("/")
        url = DecodedURL.from_text(split_registry_urls(self.registry_url)[0])
        return f"{url.scheme}://{host_text(url.host)}"


def split_registry_urls(text: str) -> list[str]:
    """
    The registries that C{MICRO_REGISTRY_URL} names: one URL, or several
    separated by commas.
    """
    urls = [part.strip().rstrip("/") for part in text.split(",") if part.strip()]
    return urls or [DEFAULT_REGISTRY_URL]


def listen_interface(host: str) -> str:
    """
    The interface to bind for a location on C{host}: loopback names stay on
    loopback so a development cluster is not reachable from the network.
    """
    if host in LOOPBACK_HOSTS:
        return "::1" if host == "::1" else "127.0.0.1"
    return ""
