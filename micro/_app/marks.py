# -*- test-case-name: tests.node.routes.test_declared -*-
"""
Marks that tell C{twistd micro-service} (and L{micro.testing}) what an
app module provides: C{@micro.service}, C{@micro.route(path)},
C{@micro.subscribe(channel)}, and the lifecycle hooks C{@micro.on_start}
and C{@micro.on_stop}.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, TypeVar, overload

from micro._kernel.channels import check_pattern
from micro._kernel.route_paths import DYNAMIC, check_data_type, check_route_path
from micro._node.handler import ServiceHandler

F = TypeVar("F", bound=Callable[..., Any])

SERVICE_MARK = "__micro_service__"
ROUTE_MARK = "__micro_routes__"
SUBSCRIBE_MARK = "__micro_subscribe__"
HOOK_MARK = "__micro_hook__"


@overload
def service(fn: F) -> F: ...


@overload
def service(fn: None = None, *, name: str | None = None) -> Callable[[F], F]: ...


def service(fn: Any = None, *, name: str | None = None) -> Any:
    """
    Mark a function as a service for C{twistd micro-service --module}.

    Use it bare (C{@micro.service}) or with a name
    (C{@micro.service(name="billing")}).  The function is returned as it
    is, so it stays callable and testable as plain Python.
    """
    def mark(f: F) -> F:
        handler = ServiceHandler.wrap(f, name)
        setattr(f, SERVICE_MARK, handler.name)
        return f

    return mark(fn) if fn is not None else mark


def marked_services(module: ModuleType) -> list[tuple[str, Callable[..., Any]]]:
    """
    The C{@service} functions of C{module}, in the order they are defined.
    """
    found = []
    for value in vars(module).values():
        name = getattr(value, SERVICE_MARK, None) if callable(value) else None
        if isinstance(name, str):
            found.append((name, value))
    return found


def route(path: str, *, name: str | None = None, data_type: str = DYNAMIC) -> Callable[[F], F]:
    """
    Mark a function as a service for C{twistd micro-service --module} that
    also answers HTTP requests on C{path} at the registry (C{"/x/*"} for
    everything below C{/x/}).  Stack several to serve several paths.

    @raise ValueError: C{path} or C{data_type} is not valid.
    """
    check_route_path(path)
    check_data_type(data_type)

    def mark(f: F) -> F:
        if getattr(f, SERVICE_MARK, None) is None or name is not None:
            service(name=name)(f)
        setattr(f, ROUTE_MARK, [*getattr(f, ROUTE_MARK, ()), (path, data_type)])
        return f

    return mark


def marked_routes(module: ModuleType) -> list[tuple[str, str, str]]:
    """
    The C{@route}s of C{module}: (path, service name, data type) each.
    """
    found = []
    for value in vars(module).values():
        routes = getattr(value, ROUTE_MARK, None) if callable(value) else None
        for path, data_type in routes or ():
            found.append((path, getattr(value, SERVICE_MARK), data_type))
    return found


def subscribe(channel: str) -> Callable[[F], F]:
    """
    Mark a function as a handler of C{channel} (a pattern like
    C{"orders.*"} works too) for C{twistd micro-service --module}.

    Marks stack: one function may handle several channels.  The function
    is returned as it is.

    @raise TypeError: C{channel} is not a string.
    @raise ValueError: C{channel} is not a valid channel or pattern.
    """
    check_pattern(channel)

    def mark(fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"@micro.subscribe marks a function, not {type(fn).__name__}")
        channels = list(getattr(fn, SUBSCRIBE_MARK, ()))
        setattr(fn, SUBSCRIBE_MARK, [channel, *channels])
        return fn

    return mark


def marked_subscriptions(module: ModuleType) -> list[tuple[str, Callable[..., Any]]]:
    """
    The C{(channel, function)} pairs marked in C{module}, in definition order.
    """
    found: list[tuple[str, Callable[..., Any]]] = []
    for value in vars(module).values():
        channels = getattr(value, SUBSCRIBE_MARK, None) if callable(value) else None
        if isinstance(channels, list):
            found.extend((channel, value) for channel in channels)
    return found


def _hook(kind: str, fn: F) -> F:
    if not callable(fn):
        raise TypeError(f"@micro.{kind} marks a function, not {type(fn).__name__}")
    setattr(fn, HOOK_MARK, kind)
    return fn


def on_start(fn: F) -> F:
    """
    Mark C{fn(node)} (plain, C{async def} or returning a Deferred) to run
    when C{twistd micro-service --module} starts the module, in the
    process's own node, before its services are hosted: host the cache
    (C{await node.cache_service()}), open a pool, subscribe.  Whatever it
    starts in the node drains with it on SIGTERM.

    Hooks run in the order they are defined.  One that fails with a 502,
    503 or 504 (the registry unreachable) runs again a second later; any
    other failure stops the process with status 1.
    """
    return _hook("on_start", fn)


def on_stop(fn: F) -> F:
    """
    Mark C{fn(node)} to run when C{twistd micro-service} stops, once the
    module's services have drained: close what they used (pools, files).
    Hooks run in the reverse order of definition; a failure is logged.
    """
    return _hook("on_stop", fn)


def marked_hooks(module: ModuleType, kind: str) -> list[Callable[..., Any]]:
    """
    The functions of C{module} marked C{@on_start} or C{@on_stop} (C{kind}),
    in definition order.
    """
    return [value for value in vars(module).values() if callable(value) and getattr(value, HOOK_MARK, None) == kind]
