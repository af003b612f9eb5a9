# -*- test-case-name: tests.app.test_run -*-
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

from attrs import evolve
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred, fail, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._app.node import Node
from micro._calls.caller import content_headers
from micro._calls.decoding import decode_reply, transport_error
from micro._kernel.codec import encode_value
from micro._kernel.config import Settings
from micro._kernel.deferreds import observe
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._node.cache.service import EVICTION_INTERVAL, EXPIRE_TIME, CacheService
from micro._node.instance import ServiceInstance
from micro._node.pubsub.service import PubSubService
from micro._node.routes.declared import Route
from micro._registry.server import RegistryServer, start_registry

_default: dict[str, Any] = {"node": None, "registries": []}
_log = Logger(namespace="micro")


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

    The first registry started in a process is the one its services join
    (with its token), unless the default node already joined another: so
    C{registry_server("http://127.0.0.1:0")} works without setting
    C{MICRO_REGISTRY_URL} to the port it picked.
    """
    from twisted.internet import reactor

    try:
        server = start_registry(reactor, url, **options)
    except Exception:
        return fail()
    _default["registries"].append(server)
    if len(_default["registries"]) == 1:
        return _follow(server.url, options.get("token")).addCallback(lambda _: server)
    return succeed(server)


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
    _default["node"] = Node.create(reactor, follower)
    return node.terminate() if node is not None else succeed(None)


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

    SIGINT and SIGTERM cancel C{main} where it waits (its C{finally}
    blocks run), then shut down just as cleanly: instances unregister and
    finish their requests before the process exits, with status 0.

    Warnings and errors are logged to standard error; set
    C{MICRO_LOG_LEVEL=info} to see more.
    """
    from twisted.internet import task

    _log_to_stderr(os.environ.get("MICRO_LOG_LEVEL", "warn"))
    task.react(lambda reactor: _run_main(reactor, main))
    raise SystemExit(0)  # react() exits itself; this line only satisfies NoReturn


def _run_main(reactor: Any, main: Callable[..., Any]) -> Deferred[Any]:
    use_node(Node.create(reactor))
    takes_reactor = bool(inspect.signature(main).parameters)

    def start() -> Any:
        result = main(reactor) if takes_reactor else main()
        return ensureDeferred(result) if inspect.iscoroutine(result) else result

    running = maybeDeferred(start)
    stopping = False

    def finish(result: Any) -> Deferred[Any]:
        if stopping and isinstance(result, Failure) and result.check(CancelledError):
            result = None  # cancelled by a signal: a clean exit
        return Deferred.fromCoroutine(shutdown()).addCallback(lambda _: result)

    # A chain of its own: cancelling main must not cancel the shutdown.
    outcome = observe(running).addBoth(finish)
    running.addErrback(lambda _: None)  # reported through outcome

    def on_signal_or_stop() -> Deferred[Any]:
        nonlocal stopping
        stopping = True
        _ignore_repeated_signals(reactor)
        running.cancel()
        return observe(outcome).addErrback(lambda _: None)  # react() reports main's failure itself

    reactor.addSystemEventTrigger("before", "shutdown", on_signal_or_stop)
    return outcome


def _ignore_repeated_signals(reactor: Any) -> None:
    """
    While micro shuts down, a second SIGINT or SIGTERM would only make the
    reactor log a traceback for stopping twice; say what is going on instead.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def still_stopping(signum: int, frame: Any) -> None:
        reactor.callFromThread(_log.warn, "already shutting down: finishing in-flight requests (SIGKILL stops at once)")

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, still_stopping)


def _log_to_stderr(level_name: str) -> None:
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    try:
        level = LogLevel.levelWithName(level_name.strip().lower())
    except Exception:
        level = LogLevel.warn
    observer = FilteringLogObserver(textFileLogObserver(sys.stderr), [LogLevelFilterPredicate(level)])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
