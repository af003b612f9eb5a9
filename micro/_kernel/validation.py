# -*- test-case-name: tests.kernel.test_validation -*-
"""
Validation of the names and URLs that clients hand to micro.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from micro._kernel.errors import InvalidArgument, WrongType

_SERVICE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.$-]{0,127}")
RESERVED_NAMES = frozenset({"all"})


def check_service_name(name: object) -> str:
    """
    Return C{name} if it is a valid service name, else raise L{InvalidArgument} (L{WrongType} for a non-string).
    """
    if not isinstance(name, str):
        raise WrongType(f"service name must be a string, not {type(name).__name__}")
    if not _SERVICE_NAME.fullmatch(name):
        raise InvalidArgument(
            f"invalid service name {name[:140]!r}: use 1 to 128 letters, digits, "
            "'_', '-', '.' or '$', starting with a letter, a digit or '_'",
        )
    if name in RESERVED_NAMES:
        raise InvalidArgument(f"service name {name!r} is reserved (lookup uses it for the whole table)")
    return name


def split_url(text: object, what: str) -> tuple[str, str, int | None, str]:
    """
    Check an absolute http(s) URL without credentials, query or fragment and
    return C{(scheme, host, port or None, path without trailing slash)}.
    """
    if not isinstance(text, str):
        raise WrongType(f"{what} must be a string URL like 'http://host:port', not {type(text).__name__}")
    if not text:
        raise InvalidArgument(f"{what} must be a non-empty string URL like 'http://host:port'")
    if len(text) > 2048 or any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise InvalidArgument(f"{what} {text[:100]!r} is too long or holds whitespace or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise InvalidArgument(f"{what} {text[:100]!r} is not a valid URL: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(f"{what} {text[:100]!r} must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.query or parts.fragment:
        raise InvalidArgument(f"{what} {text[:100]!r} must not carry credentials, a query or a fragment")
    host = parts.hostname
    return parts.scheme, host, port, parts.path.rstrip("/")


def host_text(host: str) -> str:
    """
    A host as it is written in a URL (IPv6 literals in brackets).
    """
    return f"[{host}]" if ":" in host else host


def check_location(text: object) -> str:
    """
    Return the canonical form of an instance location: C{scheme://host:port}
    plus any path, without a trailing slash.
    """
    scheme, host, port, path = split_url(text, "location")
    if port is None:
        port = 443 if scheme == "https" else 80
    return f"{scheme}://{host_text(host)}:{port}{path}"
