# -*- test-case-name: tests.app.test_hosting -*-
"""
Hosting an app module in a node: what C{twistd micro-service --module}
does with its marks, and what L{micro.testing} does in memory.
"""

from __future__ import annotations

from functools import partial
from types import ModuleType
from typing import Any, Awaitable, Callable

from attrs import frozen
from twisted.internet.defer import maybeDeferred
from twisted.logger import Logger

from micro._app.marks import marked_hooks, marked_routes, marked_services, marked_subscriptions
from micro._app.node import Node

# Runs one step of the start (named for log lines); a caller may retry it.
Attempt = Callable[[str, Callable[[], Any]], Awaitable[None]]

_log = Logger()


async def once(what: str, start: Callable[[], Any]) -> None:
    """
    Run a start step once, as a test does.
    """
    await maybeDeferred(start)


@frozen
class App:
    """
    What an app module provides, read from its marks.
    """

    name: str
    services: list[tuple[str, Callable[..., Any]]]
    routes: list[tuple[str, str, str]]
    subscriptions: list[tuple[str, Callable[..., Any]]]
    on_start: list[Callable[..., Any]]
    on_stop: list[Callable[..., Any]]

    @classmethod
    def of(cls, module: ModuleType) -> App:
        return cls(module.__name__, marked_services(module), marked_routes(module), marked_subscriptions(module),
                   marked_hooks(module, "on_start"), marked_hooks(module, "on_stop"))

    @property
    def empty(self) -> bool:
        return not (self.services or self.subscriptions or self.on_start)

    def __repr__(self) -> str:
        return (f"<App {self.name}: {len(self.services)} services, {len(self.routes)} routes, "
                f"{len(self.subscriptions)} subscriptions>")


async def start_app(node: Node, app: App, attempt: Attempt = once) -> None:
    """
    Start C{app} in C{node}: its C{on_start} hooks first (the services may
    need what they open), then its services, subscriptions and routes.
    """
    await run_start_hooks(node, app, attempt)
    await host_marked(node, app, attempt)


async def run_start_hooks(node: Node, app: App, attempt: Attempt = once) -> None:
    for hook in app.on_start:
        await attempt(f"on_start hook {getattr(hook, '__name__', hook)}", partial(hook, node))


async def host_marked(node: Node, app: App, attempt: Attempt = once) -> None:
    """
    Host C{app}'s marked services, subscriptions and routes in C{node}.
    """
    for name, fn in app.services:
        await attempt(name, partial(node.create_service, fn, name))
    for channel, fn in app.subscriptions:
        await attempt(f"subscription to {channel}", partial(node.pubsub.subscribe, channel, fn))
    for path, name, data_type in app.routes:
        await attempt(f"route {path}", partial(node.create_route, path, name, data_type))


async def stop_app(node: Node, app: App) -> None:
    """
    Run C{app}'s C{on_stop} hooks, last defined first; a failing one is
    logged and the others still run.
    """
    for hook in reversed(app.on_stop):
        try:
            await maybeDeferred(hook, node)
        except Exception:
            _log.failure("on_stop hook {hook} of {app} failed", hook=getattr(hook, "__name__", hook), app=app.name)
