# -*- test-case-name: tests.test_api -*-
"""
The module-level API: functions that act on the process's default node.

These, with L{run}, are the only places outside the twistd plugins that
reach for the global reactor, and only when no default node was set up.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any, Callable, NoReturn

from twisted.internet.defer import Deferred, fail, succeed

from ._cache_service import EVICTION_INTERVAL, EXPIRE_TIME, CacheService
from ._caller import content_headers
from ._codec import encode_value
from ._context import DEFAULT_TIMEOUT
from ._instance import ServiceInstance
from ._node import Node
from ._node_routes import Route
from ._pubsub_service import PubSubService
from ._registry_server import RegistryServer, start_registry
from ._replies import decode_reply, transport_error

_default: dict[str, Any] = {"node": None, "registries": []}


def default_node() -> Node:
    """
    The node that the module-level functions use, made on first use for
    the global reactor and the environment's settings.
    """
    node = _default["node"]
    if node is None:
        from twisted.internet import reactor

        node = _default["node"] = Node.create(reactor)
    return node  # type: ignore[no-any-return]


def use_node(node: Node | None) -> None:
    """
    Make C{node} the default node (C{None}: make a new one on next use).
    """
    _default["node"] = node


def create_service(fn: Callable[..., Any], name: str | None = None, *, home: str | None = None) -> Deferred[ServiceInstance]:
    """
    Host C{fn} as a service; see L{Node.create_service}.
    """
    try:
        return Deferred.fromCoroutine(default_node().create_service(fn, name, home=home))
    except Exception:
        return fail()


def create_route(path: str, fn_or_service_name: Callable[..., Any] | str,
                 data_type: str = "dynamic") -> Deferred[Route]:
    """
    Route HTTP requests on C{path} at the registry to a service; see
    L{Node.create_route}.
    """
    try:
        return Deferred.fromCoroutine(default_node().create_route(path, fn_or_service_name, data_type))
    except Exception:
        return fail()


def call_service(name: str, payload: Any = None, timeout: float = DEFAULT_TIMEOUT, *, retries: int = 0) -> Deferred[Any]:
    """
    Call service C{name} with C{payload}; see L{Node.call}.
    """
    return default_node().call(name, payload, timeout=timeout, retries=retries)


def create_pubsub_service() -> Deferred[PubSubService]:
    """
    A pub/sub client for this process; see L{PubSubService}.
    """
    return default_node().create_pubsub_service()


def cache_service(expire_time: float | None = EXPIRE_TIME, eviction_interval: float | None = EVICTION_INTERVAL,
                  *, max_entries: int | None = None, name: str = "cache") -> Deferred[CacheService]:
    """
    Host the built-in cache as service C{name}: default TTL C{expire_time}
    and eviction every C{eviction_interval}, in milliseconds (C{None}:
    never); at most C{max_entries} keys, least recently used out first.
    """
    return default_node().cache_service(expire_time, eviction_interval, max_entries=max_entries, name=name)


def registry_server(url: str | None = None, **options: Any) -> Deferred[RegistryServer]:
    """
    Start a registry in this process at C{url} (default: C{MICRO_REGISTRY_URL}).
    """
    from twisted.internet import reactor

    try:
        server = start_registry(reactor, url, **options)
    except Exception:
        return fail()
    _default["registries"].append(server)
    return succeed(server)


def http_request(url: str, body: Any = None, *, timeout: float = DEFAULT_TIMEOUT) -> Deferred[Any]:
    """
    POST C{body} as JSON to C{url} and decode the reply; an error status
    raises L{HttpError} with the reply's status and message.
    """
    try:
        payload, content_type = encode_value(body)
    except TypeError as e:
        return fail(TypeError(f"body for {url} is {e}"))
    d = default_node().http.request(b"POST", url.encode("utf-8"), payload, content_headers(content_type), timeout)
    return d.addCallbacks(decode_reply, transport_error, callbackArgs=(url,), errbackArgs=(f"request to {url}",))


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


def run(main: Callable[..., Any]) -> NoReturn:
    """
    Run C{main} (C{main()} or C{main(reactor)}; plain, C{async def}, or
    returning a Deferred) on the reactor, shut micro down cleanly when it
    is done, and exit.

    Warnings and errors are logged to standard error; set
    C{MICRO_LOG_LEVEL=info} to see more.
    """
    from twisted.internet import task

    _log_to_stderr(os.environ.get("MICRO_LOG_LEVEL", "warn"))
    takes_reactor = bool(inspect.signature(main).parameters)

    async def body(reactor: Any) -> None:
        use_node(Node.create(reactor))
        try:
            result = main(reactor) if takes_reactor else main()
            if inspect.iscoroutine(result) or isinstance(result, Deferred):
                await result
        finally:
            await shutdown()

    task.react(lambda reactor: Deferred.fromCoroutine(body(reactor)))
    raise SystemExit(0)  # react() exits itself; this line only satisfies NoReturn


def _log_to_stderr(level_name: str) -> None:
    from twisted.logger import (FilteringLogObserver, LogLevel, LogLevelFilterPredicate, globalLogBeginner,
                                textFileLogObserver)

    try:
        level = LogLevel.levelWithName(level_name.strip().lower())
    except Exception:
        level = LogLevel.warn
    observer = FilteringLogObserver(textFileLogObserver(sys.stderr), [LogLevelFilterPredicate(level)])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
