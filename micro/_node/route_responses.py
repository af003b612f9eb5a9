# -*- test-case-name: tests.node.test_route_responses -*-
"""
What a route handler returns, and how it becomes an HTTP reply.

A handler returns a value (dict or list: JSON; C{str}; C{bytes}) or a
L{Response} for full control.  With the route's C{data_type} C{"dynamic"},
the content type follows the value: HTML-looking text is C{text/html}, JSON
text or values are C{application/json}, C{bytes} are
C{application/octet-stream}, other text is C{text/plain}.  An explicit
C{data_type} wins over that, and a L{Response}'s own content type wins over
everything.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from attrs import field, frozen

from micro._kernel.codec import BYTES_TYPE, JSON_TYPE, TEXT_TYPE, MalformedBody, dumps, loads
from micro._kernel.route_paths import DYNAMIC

HTML_TYPE = b"text/html; charset=utf-8"
XML_TYPE = b"application/xml; charset=utf-8"

# Text that opens with a tag or a doctype; "a < b" and "<3" are not HTML.
_HTML_START = re.compile(r"<(!doctype\s|!--|[a-z][a-z0-9-]*[\s/>])", re.IGNORECASE)
_NO_BODY_STATUSES = frozenset({204, 304})

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


def _check_status(instance: Any, attribute: Any, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError(f"Response status must be an int from 100 to 599, not {value!r}")


@frozen
class Response:
    """
    A route reply with its status, headers and content type chosen by the
    handler.

    @ivar body: A dict, list or other JSON value, C{str} or C{bytes}.
    @ivar headers: Extra headers, as a mapping or (name, value) pairs.
    @ivar content_type: The C{Content-Type}; by default it follows the body
        and the route's data type.
    """

    body: Any = None
    status: int = field(default=200, validator=_check_status)
    headers: Headers | None = None
    content_type: str | None = None

    def __repr__(self) -> str:
        return f"Response({self.status}, {type(self.body).__name__} body)"


@frozen
class EncodedReply:
    """
    An encoded route reply.
    """

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def detect_content_type(value: Any) -> bytes:
    """
    The content type C{"dynamic"} picks for a returned value.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BYTES_TYPE
    if not isinstance(value, str):
        return JSON_TYPE
    stripped = value.strip()
    if stripped.startswith("<?xml"):
        return XML_TYPE
    if _HTML_START.match(stripped):
        return HTML_TYPE
    if stripped[:1] in ("{", "[") and _is_json(stripped):
        return JSON_TYPE
    return TEXT_TYPE


def _is_json(text: str) -> bool:
    try:
        loads(text)
    except MalformedBody:
        return False
    return True


def _encode_body(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return dumps(value)


def _with_charset(content_type: bytes, value: Any) -> bytes:
    if isinstance(value, str) and content_type.startswith(b"text/") and b"charset" not in content_type:
        return content_type + b"; charset=utf-8"
    return content_type


def encode_reply(result: Any, data_type: str = DYNAMIC) -> EncodedReply:
    """
    Encode what a route handler returned; raise C{TypeError} for a value
    that cannot be sent.
    """
    status, extra, chosen = 200, [], None
    if isinstance(result, Response):
        status, chosen = result.status, result.content_type
        extra = _header_pairs(result.headers)
        result = result.body
    body = _encode_body(result)
    if status in _NO_BODY_STATUSES:
        return EncodedReply(status, extra, b"")
    if chosen is not None:
        content_type = chosen.encode("ascii", "replace")
    elif any(name.lower() == b"content-type" for name, _ in extra):
        return EncodedReply(status, extra, body)
    elif data_type != DYNAMIC:
        content_type = _with_charset(data_type.encode("latin-1"), result)
    else:
        content_type = detect_content_type(result)
    return EncodedReply(status, [(b"content-type", content_type), *extra], body)


def _header_pairs(headers: Headers | None) -> list[tuple[bytes, bytes]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs = []
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str) or not (name + value).isascii():
            raise TypeError(f"Response headers must be ASCII str names and values, not {name!r}: {value!r}")
        pairs.append((name.encode("ascii"), value.encode("ascii")))
    return pairs
