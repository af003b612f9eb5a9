# -*- test-case-name: tests.app.test_api -*-
"""
The process's default node, and the registries started in this process:
the one piece of global state in micro, behind the module-level API.
"""

from __future__ import annotations

from typing import Any

from attrs import evolve
from twisted.internet.defer import Deferred, succeed

from micro._app.node import Node
from micro._kernel.config import Settings
from micro._kernel.observer import Observability
from micro._registry.server import RegistryServer

_default: dict[str, Any] = {"node": None, "registries": [], "observability": None}


def default_node() -> Node:
    """
    The node that the module-level functions use, made on first use for
    the global reactor and the environment's settings.
    """
    node = _default["node"]
    if node is None:
        from twisted.internet import reactor

        node = _default["node"] = Node.create(reactor, observability=_default["observability"])
    return node  # type: ignore[no-any-return]


def set_observability(observability: Observability | None) -> None:
    """
    What the default node and the registries started here observe (set by
    C{micro.run(main, metrics=True)}), from the next one made on.
    """
    _default["observability"] = observability


def observability() -> Observability | None:
    return _default["observability"]  # type: ignore[no-any-return]


def use_node(node: Node | None) -> None:
    """
    Make C{node} the default node (C{None}: make a new one on next use).
    """
    _default["node"] = node


def current_node() -> Node | None:
    """
    The default node if one was made, without making one.
    """
    return _default["node"]  # type: ignore[no-any-return]


def started_registry(server: RegistryServer, token: str | None) -> Deferred[None]:
    """
    Remember a registry started in this process; the first one is the one
    the default node joins (see L{micro.registry_server}).
    """
    _default["registries"].append(server)
    server.before_terminate(lambda: _leave(server.url))
    if len(_default["registries"]) == 1:
        return _follow(server.url, token)
    return succeed(None)


def _leave(url: str) -> Deferred[None]:
    """
    A registry of this process is stopping: if the default node follows
    it, the node leaves first, while the registry can still hear it
    unregister (rather than finding it gone and leaving unannounced).
    """
    node: Node | None = _default["node"]
    if node is None or not node.joined or node.settings.registry_url != url:
        return succeed(None)
    _default["node"] = None
    return node.terminate()


def _follow(url: str, token: str | None) -> Deferred[None]:
    """
    Point the default node at the registry at C{url}, if it has not joined one.
    """
    node: Node | None = _default["node"]
    if node is not None and node.joined:
        return succeed(None)
    if node is None:
        from twisted.internet import reactor
        settings = Settings.from_environ()
    else:
        reactor, settings = node.reactor, node.settings
    follower = evolve(settings, registry_url=url, token=token if token is not None else settings.token)
    if follower == settings:
        return succeed(None)
    _default["node"] = Node.create(reactor, follower, observability=_default["observability"])
    return node.terminate() if node is not None else succeed(None)


async def shutdown() -> None:
    """
    Stop the default node gracefully, then every registry started here.
    """
    node = _default["node"]
    if node is not None:
        await node.terminate()
        _default["node"] = None
    registries, _default["registries"] = _default["registries"], []
    for server in registries:
        await server.terminate()
