# -*- test-case-name: tests.registry.test_endpoint -*-
"""
Checking the arguments of registry commands: the validators every command
family (service, route, pub/sub) shares.  Each raises L{InvalidArgument}
(a 400) naming the command and what it wanted.
"""

from __future__ import annotations

from typing import Any

from micro._kernel.errors import InvalidArgument


def as_object(argument: Any, command: str, example: str) -> dict[str, Any]:
    """
    C{argument}, which must be a JSON object (C{example} shows one).
    """
    if not isinstance(argument, dict):
        raise InvalidArgument(f"{command} takes an object like {example}, not {type(argument).__name__}")
    return argument


def required(argument: dict[str, Any], key: str, command: str) -> Any:
    """
    The value of C{key}, which must be there and not null.
    """
    if key not in argument or argument[key] is None:
        raise InvalidArgument(f"{command} needs {key!r}")
    return argument[key]


def only(argument: dict[str, Any], keys: frozenset[str], command: str) -> None:
    """
    Refuse keys that C{command} does not take.
    """
    unknown = sorted(str(k) for k in argument if k not in keys)
    if unknown:
        raise InvalidArgument(f"{command} does not take {', '.join(repr(k[:40]) for k in unknown)}; "
                              f"it takes {', '.join(sorted(keys))}")


def node_id(value: Any) -> str:
    """
    A node id: a non-empty string without spaces or control characters.
    """
    if not isinstance(value, str) or not 0 < len(value) <= 2048 or any(ord(c) < 33 for c in value):
        raise InvalidArgument("node must be a non-empty string without spaces or control characters")
    return value


def integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{what} must be an integer")
    return value


def number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise InvalidArgument(f"{what} must be a number")
    return float(value)
