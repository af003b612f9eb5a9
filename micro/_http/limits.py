# -*- test-case-name: tests.http.test_limits -*-
"""
How large a request body may be, by kind of request.
"""

from __future__ import annotations

import json
import re
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


def too_large_for(what: str, limit: int, size: int | None) -> str:
    """
    What C{what} (a kind of body) over C{limit} bytes is told, with its
    size if it is known.
    """
    return f"{what} may have at most {limit} bytes; this one has {size if size is not None else 'more'}"


# The opening of a JSON object up to its first key, as a JSON string.
_FIRST_KEY = re.compile(rb'\s*\{\s*("(?:[^"\\]|\\.)*")\s*:')
# How far into a body its first key is looked for.
FIRST_KEY_WITHIN = 256


@frozen
class FirstKeyLimit:
    """
    A limit chosen by the first key of a JSON object body: C{larger} bytes
    when that key is one of C{larger_for}, C{limit} otherwise.  A registry
    command is an object with one key, its command, so a body can be
    capped by its command from its first bytes on, before it is read.

    @ivar larger: C{None} means no limit for those keys.
    """

    limit: int
    larger: int | None
    larger_for: frozenset[str]
    what: str = "a request body"

    def decides(self, prefix: bytes) -> bool:
        """
        Whether a body that starts with C{prefix} shows enough to choose.
        """
        return len(prefix) >= FIRST_KEY_WITHIN or _FIRST_KEY.match(prefix) is not None

    def limit_for(self, prefix: bytes) -> int | None:
        """
        The limit of a body that starts with C{prefix}: C{limit} unless it
        opens an object whose first key is one of C{larger_for}.
        """
        match = _FIRST_KEY.match(prefix)
        try:
            key = json.loads(match.group(1)) if match is not None else None
        except ValueError:
            key = None
        return self.larger if key in self.larger_for else self.limit

    def refusal(self, limit: int, size: int | None) -> str:
        """
        What a body over C{limit} is told; C{size} is its declared length.
        """
        return too_large_for(self.what, limit, size)


class IBodyLimit(Interface):
    """
    A root resource that caps the bodies of the requests it gets.
    """

    def body_limit(method: bytes, uri: bytes, headers: Any) -> int | FirstKeyLimit | None:
        """
        The most bytes the body of this request may have, or C{None}; a
        L{FirstKeyLimit} to choose by the body's first bytes.
        """
