# -*- test-case-name: tests.kernel.test_codec -*-
"""
How payloads, results and errors travel as HTTP bodies.

JSON carries every JSON type with its type intact (C{"42"} stays a string,
C{0}, C{False}, C{None} and C{""} survive); C{bytes} travel raw as
C{application/octet-stream}.  The same functions serve the in-process path,
so a local call sees exactly what a remote one would.
"""

from __future__ import annotations

import json
from typing import Any

from micro._kernel.errors import HttpError

JSON_TYPE = b"application/json"
BYTES_TYPE = b"application/octet-stream"
TEXT_TYPE = b"text/plain; charset=utf-8"

# One encoder for the process: json.dumps() builds a new one per call when
# given options, which costs more than the encoding of a small payload.
_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_decoder = json.JSONDecoder()
_decode = _decoder.decode
# Our own compact output has no whitespace around it to skip, so the
# in-process path reads it with the scanner directly.
_scan = _decoder.scan_once  # type: ignore[attr-defined]


class MalformedBody(ValueError):
    """
    A body that does not decode as its content type says.
    """


def _json_text(value: Any) -> str:
    """
    C{value} as compact JSON text, all ASCII; C{TypeError} for what JSON cannot carry.
    """
    try:
        return _encoder.encode(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"not JSON-serializable: {e}") from None
    except RecursionError:
        raise TypeError("not JSON-serializable: nested too deeply") from None


def dumps(value: Any) -> bytes:
    """
    Encode C{value} as compact JSON; raise C{TypeError} for what JSON cannot carry.
    """
    return _json_text(value).encode("utf-8")


def loads(body: bytes | str) -> Any:
    """
    Decode JSON, raising L{MalformedBody} for bad input, including input
    nested so deeply that decoding it would exhaust the stack.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        return _decode(text)
    except UnicodeDecodeError as e:
        raise MalformedBody(f"body is not UTF-8: {e}") from None
    except RecursionError:
        raise MalformedBody("JSON nested too deeply") from None
    except ValueError as e:
        raise MalformedBody(f"malformed JSON: {e}") from None


def encode_value(value: Any) -> tuple[bytes, bytes]:
    """
    Return C{(body, content_type)} for a payload or a result.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), BYTES_TYPE
    return dumps(value), JSON_TYPE


def across(value: Any) -> tuple[Any, bytes, int]:
    """
    What the far side of an HTTP hop would decode from C{value}: the value,
    its content type and the size of the body that carried it, without
    building that body (the in-process path).  Raises C{TypeError} as
    L{encode_value} does.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        copy = bytes(value)
        return copy, BYTES_TYPE, len(copy)
    text = _json_text(value)  # ASCII, so len() is the byte count
    try:
        return _scan(text, 0)[0], JSON_TYPE, len(text)
    except RecursionError:
        raise TypeError("not JSON-serializable: nested too deeply") from None


def media_type(content_type: bytes | None) -> bytes:
    """
    The lower-cased media type of a Content-Type header, without parameters.
    """
    if content_type is JSON_TYPE or content_type is BYTES_TYPE:
        return content_type  # our own constants, on the hot path
    if not content_type:
        return b""
    return content_type.split(b";", 1)[0].strip().lower()


def charset(content_type: bytes | None, default: str = "utf-8") -> str:
    """
    The C{charset} parameter of a Content-Type header, or C{default}.
    """
    for parameter in (content_type or b"").split(b";")[1:]:
        name, _, value = parameter.partition(b"=")
        if name.strip().lower() == b"charset" and value.strip(b' "'):
            return value.strip(b' "').decode("ascii", "replace").lower()
    return default


def decode_payload(body: bytes, content_type: bytes | None) -> Any:
    """
    Decode a request body sent to a service.

    Bytes and text are taken as they come; everything else must be JSON (an
    empty body is C{None}), so a C{curl -d '{...}'} works without a header.
    """
    kind = media_type(content_type)
    if kind == BYTES_TYPE:
        return body
    if kind.startswith(b"text/"):
        return _text(body)
    if not body:
        return None
    return loads(body)


def decode_result(body: bytes, content_type: bytes | None) -> Any:
    """
    Decode a successful reply body into the value the service returned.
    """
    kind = media_type(content_type)
    if kind == JSON_TYPE or kind.endswith(b"+json"):
        return loads(body) if body else None
    if kind.startswith(b"text/"):
        return _text(body)
    return body


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedBody(f"text body is not UTF-8: {e}") from None


def error_body(error: HttpError, *, with_traceback: bool) -> bytes:
    """
    The JSON body of an error reply: C{{"error": message, "status": status}},
    plus C{"traceback"} when the caller may see it.
    """
    document: dict[str, Any] = {"error": error.message, "status": error.status}
    if with_traceback and error.traceback:
        document["traceback"] = error.traceback
    return dumps(document)


def error_from_reply(status: int, body: bytes, content_type: bytes | None, origin: str) -> HttpError:
    """
    Rebuild the L{HttpError} that an error reply describes.

    Replies that are not ours (a proxy's HTML page, say) keep their status
    and get a message naming C{origin} and a short excerpt of the body.
    """
    status = status if 400 <= status <= 599 else 502
    if media_type(content_type) == JSON_TYPE:
        try:
            document = loads(body)
        except MalformedBody:
            document = None
        if isinstance(document, dict) and isinstance(document.get("error"), str):
            trace = document.get("traceback")
            return HttpError(status, document["error"], traceback=trace if isinstance(trace, str) else None)
    excerpt = body[:200].decode("utf-8", "replace").strip()
    return HttpError(status, f"{origin} answered {status}" + (f": {excerpt}" if excerpt else ""))
