# -*- test-case-name: tests.twistd.test_taps -*-
"""
C{twistd micro-registry}: run the registry.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable
from urllib.parse import urlsplit

from twisted.application.service import IService, MultiService, Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._app.run import ignore_repeated_signals
from micro._http.limits import CALL_LIMIT, COMMAND_LIMIT, BodyLimits
from micro._http.site import make_site
from micro._kernel.config import Settings, check_registry_url, listen_interface, split_registry_urls
from micro._kernel.errors import InvalidArgument
from micro._registry.server import LISTEN_BACKLOG
from micro._registry.stack import RegistryStack
from micro._registry.state import DEFAULT_TTL
from micro._registry.store.preflight import StoreUnusable, check_client, check_redis
from micro._registry.store.redis import RedisStore
from micro._registry.store.redis_address import RedisAddress, parse_store_url
from micro._twistd.options import (OBSERVE_FLAGS, MicroOptions, byte_count, checked_url, listen_port, observe_options,
                                   observe_parameters, positive_float, positive_int, read_token_file)
from micro._twistd.process import exit_with, freeze_loaded_objects, run_without_pidfile_in_foreground
from micro._twistd.reuseport import listen_reusing_port, parse_tcp
from micro._twistd.workers import Workers, worker_argv


def with_backlog(description: str) -> str:
    """
    A TCP endpoint description with a deep listen backlog, unless it names
    one itself.
    """
    if description.split(":", 1)[0] in ("tcp", "tcp6") and "backlog=" not in description:
        return f"{description}:backlog={LISTEN_BACKLOG}"
    return description


def default_listen(settings: Settings) -> str:
    """
    The endpoint matching C{MICRO_REGISTRY_URL}: its port, on loopback if
    its host is a loopback name.
    """
    parts = urlsplit(split_registry_urls(settings.registry_url)[0])
    port = parts.port or 9999
    interface = listen_interface(parts.hostname or "localhost")
    if not interface:
        return f"tcp:{port}"
    return f"tcp:{port}:interface={interface.replace(':', chr(92) + ':')}"


PROGRAM = "twistd micro-registry"


class Options(MicroOptions):
    synopsis = "[--listen ENDPOINT] [--ttl SECONDS] [--store redis://HOST:PORT/DB] [--workers N]"
    longdesc = (
        "Run the micro registry: service discovery, port allocation, load-balanced calls, "
        "HTTP routes and pub/sub. Commands are JSON objects POSTed to /."
    )
    optParameters = [
        ["token-file", None, None,
         "File holding the registry token that state-changing commands must carry. "
         "Default: $MICRO_REGISTRY_TOKEN. Required with MICRO_ENV=production."],
        ["listen", "l", None,
         "Endpoint to listen on, like tcp:9999:interface=127.0.0.1. Default: the port of "
         "$MICRO_REGISTRY_URL (9999), on loopback when its host is a loopback name."],
        ["ttl", None, DEFAULT_TTL,
         "Seconds an instance stays registered without renewing its lease; a dead "
         "instance leaves every table within about this time.", positive_float],
        ["max-command-bytes", None, COMMAND_LIMIT,
         "Largest body of a registry command other than call (413 past it).", byte_count],
        ["max-call-bytes", None, CALL_LIMIT, "Largest body of a call command (413 past it).", byte_count],
        ["max-route-bytes", None, None, "Largest body of route traffic (413 past it); no limit by default",
         byte_count],
        ["store", None, None,
         "Where the cluster's state is kept: memory (this process only), or redis://[:PASSWORD@]HOST:PORT/DB"
         "[?cluster=NAME] to share it with every registry on that Redis. Default: $MICRO_REGISTRY_STORE, "
         "else memory."],
        ["workers", "w", 1,
         "Registry processes serving the listening port (SO_REUSEPORT); more than one needs a Redis --store.",
         positive_int],
        *observe_parameters("route request"),
    ]
    optFlags = [
        *OBSERVE_FLAGS,
        ["reuseport", None, "Listen with SO_REUSEPORT, beside other registries on the same port (a tcp endpoint)."],
    ]

    def postOptions(self) -> None:
        settings = Settings.from_environ()
        checked_url(PROGRAM, check_registry_url, settings.registry_url, "MICRO_REGISTRY_URL")
        if not self["listen"]:
            self["listen"] = default_listen(settings)
        elif "MICRO_REGISTRY_URL" in os.environ:
            _check_agrees(self["listen"], settings.registry_url)
        self["token"] = settings.token
        if self["token-file"]:
            self["token"] = read_token_file(PROGRAM, self["token-file"])
        if settings.production and not self["token"]:
            exit_with("twistd micro-registry: MICRO_ENV=production needs a registry token "
                      "(MICRO_REGISTRY_TOKEN or --token-file); refusing to start an open registry")
        observe_options(PROGRAM, self)
        self["redis"] = checked_store(self["store"] or os.environ.get("MICRO_REGISTRY_STORE", ""), self["workers"])
        if self["reuseport"] or self["workers"] > 1:
            try:
                parse_tcp(self["listen"])
            except ValueError as e:
                exit_with(f"twistd micro-registry: {e}")
        run_without_pidfile_in_foreground(self)


def _check_agrees(listen: str, registry_url: str) -> None:
    """
    A registry told to listen on one port while this environment's nodes
    dial another is a mistake: say so in one line rather than start a
    registry nobody reaches.
    """
    port = listen_port(listen)
    url_ports = {urlsplit(url).port for url in split_registry_urls(registry_url)}
    if port is not None and port != 0 and None not in url_ports and port not in url_ports:
        dialed = ", ".join(str(p) for p in sorted(url_ports))  # type: ignore[type-var]
        exit_with(f"twistd micro-registry: --listen {listen} is port {port}, but MICRO_REGISTRY_URL "
                  f"{registry_url} says {dialed}: processes of this cluster would dial {dialed}; "
                  "make them agree (or leave out --listen)")


class RegistryService(Service):
    """
    Listen for the registry and stop it cleanly with twistd.
    """

    _log = Logger()

    def __init__(self, stack: RegistryStack, listen: Callable[[Any], Deferred[Any]], description: str, reactor: Any):
        self.stack = stack
        self._listen = listen
        self._description = description
        self._reactor = reactor
        self._port: Any = None
        self._site: Any = None

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        outcome: list[Any] = []
        self._site = make_site(self.stack.resource, self._reactor)
        maybeDeferred(self._listen, self._site).addBoth(outcome.append)
        if outcome and isinstance(outcome[0], Failure):
            raise SystemExit(f"twistd micro-registry: cannot listen on {self._description}: "
                             f"{outcome[0].getErrorMessage()}")
        self._port = outcome[0] if outcome else None
        if self._port is not None:
            port = self._port.getHost().port
            self.stack.listening_on(port)
            self._log.info("registry listening on port {port}", port=port)

    def startService(self) -> None:
        super().startService()
        freeze_loaded_objects()
        store = self.stack.store.describe()
        self.stack.start().addCallbacks(
            lambda _: self._log.info("registry state loaded from {store}", store=store),
            lambda f: self._log.failure("loading the registry state from {store} failed", f, store=store))

    def stopService(self) -> Deferred[None]:
        super().stopService()
        ignore_repeated_signals(self._reactor)
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        await self.stack.shut_down(self._port, self._site)


def makeService(options: Options, reactor: Any = None) -> IService:
    """
    Called by twistd with the parsed L{Options}; tests pass a C{reactor}.
    """
    if reactor is None:
        from twisted.internet import reactor
    limits = BodyLimits(options["max-command-bytes"], options["max-call-bytes"], options["max-route-bytes"])
    address = options.get("redis")
    store = None if address is None else RedisStore(address, reactor, options["ttl"])
    settings = Settings.from_environ()
    stack = RegistryStack.build(reactor, ttl=options["ttl"], token=options["token"], development=settings.development,
                                limits=limits, store=store, observability=options.get("observability"),
                                production=settings.production)
    description = with_backlog(options["listen"])
    if options["reuseport"] or options["workers"] > 1:
        def listen(factory: Any) -> Any:
            return listen_reusing_port(reactor, description, factory)
    else:
        listen = serverFromString(reactor, description).listen
    registry = RegistryService(stack, listen, options["listen"], reactor)
    if options["workers"] == 1:
        return registry
    group = MultiService()
    registry.setServiceParent(group)
    Workers(reactor, options["workers"], worker_argv(sys.argv)).setServiceParent(group)
    return group


def checked_store(url: str, workers: int) -> RedisAddress | None:
    """
    The Redis store named by C{url}, checked before anything starts (a
    bad one exits with one line); C{None} for the memory store.
    """
    try:
        address = parse_store_url(url)
    except InvalidArgument as e:
        exit_with(f"twistd micro-registry: --store: {e}")
    if address is None:
        if workers > 1:
            exit_with("twistd micro-registry: --workers needs a shared store (--store redis://HOST:PORT/DB): "
                      "each worker is a registry of its own")
        return None
    try:
        check_client()
        check_redis(address)
    except StoreUnusable as e:
        exit_with(f"twistd micro-registry: --store: {e}")
    return address
