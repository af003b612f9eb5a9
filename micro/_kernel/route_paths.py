# -*- test-case-name: tests.registry.routes.test_table -*-
"""
The syntax of routes, shared by the registry and the nodes: what a route
path and a data type may be, and how a path travels on the wire.

A route path is either direct (C{/api/users}), matched exactly, or a
wildcard (C{/api/users/*}), matched by prefix.
"""

from __future__ import annotations

from urllib.parse import quote

from micro._kernel.errors import InvalidArgument, WrongType
from micro._kernel.protocol import FRAMEWORK_PREFIX

DYNAMIC = "dynamic"
MAX_PATH_LENGTH = 2048

# Characters a path may hold as they are; anything else (non-ASCII, say) is
# percent-encoded, as a client sends it on the wire.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_RESERVED = FRAMEWORK_PREFIX.decode("ascii")


def check_route_path(path: object) -> str:
    """
    Return C{path} if it can be a route path, else raise L{InvalidArgument} (L{WrongType} for a non-string).

    It starts with C{/}, holds no whitespace, control characters, C{?} or
    C{#}, and may hold C{*} only as its last character (a wildcard); it
    is not under C{/_micro/}, where the registry answers for itself.
    """
    if not isinstance(path, str):
        raise WrongType(f"route path must be a string, not {type(path).__name__}")
    shown = repr(path[:100])
    if not path.startswith("/"):
        raise InvalidArgument(f"route path {shown} must start with '/'")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidArgument(f"route path {shown}... is longer than {MAX_PATH_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or 127 <= ord(c) < 160 for c in path):
        raise InvalidArgument(f"route path {shown} holds whitespace or control characters")
    if "?" in path or "#" in path:
        raise InvalidArgument(f"route path {shown} holds '?' or '#'; queries are not part of a route")
    if "*" in path[:-1]:
        raise InvalidArgument(f"route path {shown} may hold '*' only at its end, as in '/api/users/*'")
    if path.startswith(_RESERVED) or path == _RESERVED[:-1] + "*":
        raise InvalidArgument(f"route path {shown} is under {_RESERVED}, which is micro's own (probes, metrics, "
                              "the dashboard)")
    return path


def check_data_type(data_type: object) -> str:
    """
    Return C{data_type} if it is C{"dynamic"} or a media type, else raise L{InvalidArgument} (L{WrongType} for a non-string).
    """
    if data_type is None:
        return DYNAMIC
    if not isinstance(data_type, str):
        raise WrongType(f"dataType must be 'dynamic' or a media type like 'text/html', not {type(data_type).__name__}")
    if not data_type:
        raise InvalidArgument("dataType must be 'dynamic' or a media type like 'text/html'")
    if data_type == DYNAMIC:
        return data_type
    if len(data_type) > 200 or "/" not in data_type or any(ord(c) < 32 or ord(c) > 126 for c in data_type):
        raise InvalidArgument(f"dataType {data_type[:100]!r} must be 'dynamic' or a media type like 'text/html'")
    return data_type


def wire_form(path: str) -> str:
    """
    The form in which a client sends C{path}: non-ASCII percent-encoded.
    """
    return quote(path, safe=_PATH_SAFE)
