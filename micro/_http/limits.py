# -*- test-case-name: tests.http.test_limits -*-
"""
How large a request body may be, by kind of request.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen
from zope.interface import Interface

MIB = 1024 * 1024
COMMAND_LIMIT = 1 * MIB
CALL_LIMIT = 16 * MIB


@frozen
class BodyLimits:
    """
    The most bytes a request body may have; C{None} means no limit.

    @ivar command: Registry commands other than C{call}.
    @ivar call: Service payloads, and the registry's C{call} command.
    @ivar route: Route traffic (it streams through the registry).
    """

    command: int | None = COMMAND_LIMIT
    call: int | None = CALL_LIMIT
    route: int | None = None


def too_large(limit: int) -> str:
    """
    What a request whose body is over C{limit} bytes is told, with its 413.
    """
    return f"request body larger than the limit of {limit} bytes"


class IBodyLimit(Interface):
    """
    A root resource that caps the bodies of the requests it gets.
    """

    def body_limit(method: bytes, uri: bytes, headers: Any) -> int | None:
        """
        The most bytes the body of this request may have, or C{None}.
        """
