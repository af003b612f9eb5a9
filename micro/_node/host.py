# -*- test-case-name: tests.node.test_drain -*-
"""
What a service instance needs of the node that hosts it, and how long it
takes to leave.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from twisted.web.iweb import IRequest

from micro._kernel.config import Settings
from micro._kernel.observer import Observer
from micro._node.call_stats import CallStats
from micro._node.context import Member


class Hosted(Protocol):
    """
    What a node needs of an instance to let it go.
    """

    @property
    def name(self) -> str: ...

    @property
    def location(self) -> str: ...


class Host(Member, Protocol):
    """
    What an instance needs of the node that hosts it.
    """

    reactor: Any
    settings: Settings
    max_payload_bytes: int | None
    endpoints: dict[bytes, Endpoint]
    call_stats: CallStats

    @property
    def observer(self) -> Observer | None: ...

    async def leave(self, instance: Hosted, settle_timeout: float) -> None: ...

    def forget(self, instance: Hosted) -> None: ...


# A framework endpoint: answers a request to an instance (a ServiceInstance,
# which imports this module), like a render().
Endpoint = Callable[[IRequest, Any], Any]

# How long a leaving instance lets running calls finish, and waits for
# callers' tables to drop it.
DRAIN_TIMEOUT = 10.0
SETTLE_TIMEOUT = 2.0
