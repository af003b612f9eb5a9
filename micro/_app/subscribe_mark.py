# -*- test-case-name: tests.app.test_pubsub_api -*-
"""
C{@micro.subscribe(channel)}: the pub/sub counterpart of C{@micro.service},
for C{twistd micro-service --module}.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, TypeVar

from micro._kernel.channels import check_pattern

F = TypeVar("F", bound=Callable[..., Any])

SUBSCRIBE_MARK = "__micro_subscribe__"


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
