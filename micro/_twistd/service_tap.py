# -*- test-case-name: tests.twistd.test_taps -*-
"""
C{twistd micro-service}: host the services of an app module.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from twisted.application.service import IService, Service
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python import usage

from micro._app.default import use_node
from micro._app.loader import AppLoadError, load_app_module
from micro._app.marks import marked_routes, marked_services, marked_subscriptions
from micro._app.node import Node
from micro._http.limits import CALL_LIMIT
from micro._kernel.config import Settings, check_registry_url, check_service_url
from micro._kernel.errors import HttpError
from micro._node.instance import DRAIN_TIMEOUT, SETTLE_TIMEOUT
from micro._twistd.options import byte_count, checked_url, positive_float
from micro._twistd.process import exit_with, freeze_loaded_objects, run_without_pidfile_in_foreground

START_RETRY_DELAY = 1.0


PROGRAM = "twistd micro-service"


class Options(usage.Options):
    synopsis = "--module MODULE [--registry URL] [--home URL] [--drain-timeout SECONDS]"
    longdesc = (
        "Host every function of MODULE marked with @micro.service, each at its own port "
        "allocated by the registry, and keep them registered; subscribe those marked with "
        "@micro.subscribe(channel). SIGTERM or SIGINT unregisters "
        "them, waits until callers stop using them, lets running calls finish, and exits. "
        "MODULE is a dotted module name, importable from the current directory, or a path "
        "to a .py file."
    )
    optParameters = [
        ["module", "m", None, "The app module whose @micro.service (and @micro.subscribe) functions to host (required)."],
        ["registry", "r", None, "Registry URL. Default: $MICRO_REGISTRY_URL, else http://localhost:9999."],
        ["home", None, None,
         "Base URL to advertise for this process's services, like http://10.0.0.5. "
         "Default: $MICRO_SERVICE_URL, else the registry's host."],
        ["drain-timeout", None, DRAIN_TIMEOUT, "Seconds to let running calls finish on shutdown.", positive_float],
        ["settle-timeout", None, SETTLE_TIMEOUT,
         "Seconds to wait, on shutdown, for callers to drop this process's instances.", positive_float],
        ["max-payload-bytes", None, CALL_LIMIT, "Largest call payload the services accept (413 past it).",
         byte_count],
    ]

    def postOptions(self) -> None:
        settings = Settings.from_environ()
        if self["registry"]:
            checked_url(PROGRAM, check_registry_url, self["registry"], "--registry")
        else:
            checked_url(PROGRAM, check_registry_url, settings.registry_url, "MICRO_REGISTRY_URL")
        if self["home"]:
            checked_url(PROGRAM, check_service_url, self["home"], "--home")
        elif settings.service_url:
            checked_url(PROGRAM, check_service_url, settings.service_url, "MICRO_SERVICE_URL")
        if not self["module"]:
            raise usage.UsageError("--module is required: the Python module that holds your @micro.service functions")
        try:
            module = load_app_module(self["module"])
        except AppLoadError as e:
            exit_with(f"twistd micro-service: {e}")
        self["services"] = marked_services(module)
        self["routes"] = marked_routes(module)
        self["subscriptions"] = marked_subscriptions(module)
        if not self["services"] and not self["subscriptions"]:
            exit_with(f"twistd micro-service: module {self['module']!r} has no functions marked "
                      "@micro.service or @micro.subscribe")
        run_without_pidfile_in_foreground(self)


class NodeService(Service):
    """
    Run a L{Node} hosting the given services for as long as twistd runs.

    Starting keeps trying until the registry answers, so services may start
    before the registry does.
    """

    _log = Logger()

    def __init__(self, node: Node, services: list[tuple[str, Callable[..., Any]]],
                 drain_timeout: float, settle_timeout: float,
                 subscriptions: list[tuple[str, Callable[..., Any]]] | None = None,
                 routes: list[tuple[str, str, str]] | None = None):
        self.node = node
        self._services = services
        self._subscriptions = subscriptions or []
        self._routes = routes or []
        self._drain_timeout = drain_timeout
        self._settle_timeout = settle_timeout
        self._starting: Deferred[None] | None = None

    def startService(self) -> None:
        super().startService()
        freeze_loaded_objects()
        use_node(self.node)
        self._starting = Deferred.fromCoroutine(self._start_all())
        self._starting.addErrback(lambda f: None if f.check(CancelledError) else self._log.failure("start failed", f))

    async def _start_all(self) -> None:
        for name, fn in self._services:
            await self._retrying(name, partial(self.node.create_service, fn, name))
        for channel, fn in self._subscriptions:
            await self._retrying(f"subscription to {channel}", partial(self.node.pubsub.subscribe, channel, fn))
        for path, name, data_type in self._routes:
            await self._retrying(f"route {path}", partial(self.node.create_route, path, name, data_type))

    async def _retrying(self, what: str, start: Callable[[], Any]) -> None:
        attempt = 0
        while True:
            try:
                await start()
                return
            except HttpError as e:
                if e.status not in (502, 503, 504):
                    raise
                if attempt % 10 == 0:
                    self._log.warn("cannot start {service} yet ({error}); retrying", service=what, error=e)
                attempt += 1
                await deferLater(self.node.reactor, START_RETRY_DELAY)

    def stopService(self) -> Deferred[None]:
        super().stopService()
        if self._starting is not None and not self._starting.called:
            self._starting.cancel()
        self._log.info("stopping: unregistering and draining")
        return self.node.terminate(self._drain_timeout, self._settle_timeout)


def makeService(options: Options, reactor: Any = None) -> IService:
    """
    Called by twistd with the parsed L{Options}; tests pass a C{reactor}.
    """
    if reactor is None:
        from twisted.internet import reactor
    settings = Settings.from_environ()
    overrides = {}
    if options["registry"]:
        overrides["registry_url"] = options["registry"]
    if options["home"]:
        overrides["service_url"] = options["home"]
    if overrides:
        from attrs import evolve

        settings = evolve(settings, **overrides)
    node = Node.create(reactor, settings, max_payload_bytes=options["max-payload-bytes"])
    return NodeService(node, options["services"], options["drain-timeout"], options["settle-timeout"],
                       options.get("subscriptions"), options.get("routes"))
