# -*- test-case-name: tests.test_decorators -*-
"""
Marks that tell C{twistd micro-service} what an app module provides.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, TypeVar, overload

from ._handler import ServiceHandler

F = TypeVar("F", bound=Callable[..., Any])

SERVICE_MARK = "__micro_service__"


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
