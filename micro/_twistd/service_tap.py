# -*- test-case-name: tests.twistd.test_taps -*-
"""
C{twistd micro-service}: host the services of an app module.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from micro._app.hosting import App
from micro._app.loader import AppLoadError, load_app_module
from micro._app.node import Node
from micro._http.limits import CALL_LIMIT
from micro._kernel.config import Settings, check_registry_url, check_service_url
from micro._node.host import DRAIN_TIMEOUT, SETTLE_TIMEOUT
from micro._twistd.node_service import NodeService
from micro._twistd.options import (
    OBSERVE_FLAGS,
    MicroOptions,
    byte_count,
    checked_url,
    observe_options,
    observe_parameters,
    positive_float,
    read_token_file,
)
from micro._twistd.process import exit_after_shutdown, exit_with, run_without_pidfile_in_foreground


PROGRAM = "twistd micro-service"


class Options(MicroOptions):
    synopsis = "--module MODULE [--registry URL] [--home URL] [--drain-timeout SECONDS]"
    longdesc = (
        "Host the app MODULE in this process: run its @micro.on_start hooks, then host every "
        "function marked @micro.service or @micro.route(path), each at its own port allocated by "
        "the registry, and subscribe those marked @micro.subscribe(channel). SIGTERM or SIGINT "
        "unregisters them, waits until callers stop using them, lets running calls finish, runs "
        "the @micro.on_stop hooks and exits. A start that fails for good (the registry refuses "
        "the token, a hook raises) exits with status 1. MODULE is a dotted module name, "
        "importable from the current directory, or a path to a .py file."
    )
    optParameters = [
        ["module", "m", None, "The app module to host (required)."],
        ["registry", "r", None,
         "Registry URL, or several separated by commas (the node moves to the next when one fails). "
         "Default: $MICRO_REGISTRY_URL, else http://localhost:9999."],
        ["home", None, None,
         "Base URL to advertise for this process's services, like http://10.0.0.5. "
         "Default: $MICRO_SERVICE_URL, else the registry's host."],
        ["token-file", None, None,
         "File holding the registry token. Default: $MICRO_REGISTRY_TOKEN."],
        ["drain-timeout", None, DRAIN_TIMEOUT, "Seconds to let running calls finish on shutdown.", positive_float],
        ["settle-timeout", None, SETTLE_TIMEOUT,
         "Seconds to wait, on shutdown, for callers to drop this process's instances.", positive_float],
        ["max-payload-bytes", None, CALL_LIMIT, "Largest call payload the services accept (413 past it).",
         byte_count],
        *observe_parameters("call served"),
    ]
    optFlags = OBSERVE_FLAGS

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
        if self["token-file"]:
            self["token"] = read_token_file(PROGRAM, self["token-file"])
        observe_options(PROGRAM, self)
        if not self["module"]:
            raise usage.UsageError("--module is required: the Python module that holds your @micro.service functions")
        try:
            module = load_app_module(self["module"])
        except AppLoadError as e:
            exit_with(f"{PROGRAM}: {e}")
        app = self["app"] = App.of(module)
        self["services"], self["routes"], self["subscriptions"] = app.services, app.routes, app.subscriptions
        if app.empty:
            exit_with(f"{PROGRAM}: module {self['module']!r} has no functions marked "
                      "@micro.service, @micro.route, @micro.subscribe or @micro.on_start")
        run_without_pidfile_in_foreground(self)


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
    if options.get("token"):
        overrides["token"] = options["token"]
    if overrides:
        from attrs import evolve

        settings = evolve(settings, **overrides)
    node = Node.create(reactor, settings, max_payload_bytes=options["max-payload-bytes"],
                       observability=options.get("observability"))
    return NodeService(node, options["app"], options["drain-timeout"], options["settle-timeout"],
                       partial(exit_after_shutdown, reactor))
