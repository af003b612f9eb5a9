# -*- test-case-name: tests.node.test_route_traffic -*-
"""
Route traffic on a service instance: an HTTP request, with its own method
and path, answered by the service's handler.

The handler gets C{ctx.request} (method, path, url, query, headers) and a
payload: for GET and HEAD, and for any request without a body, the query
parameters; otherwise the body, decoded by its content type (a JSON
object or array sent as a form, as C{curl -d} does, is read as JSON).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from twisted.web.iweb import IRequest

from micro._http.respond import write_error
from micro._kernel.codec import JSON_TYPE, MalformedBody, charset, loads, media_type
from micro._kernel.errors import HttpError
from micro._kernel.route_paths import DYNAMIC, check_data_type
from micro._node.instance import ServiceInstance
from micro._node.route_responses import encode_reply

FORM_TYPE = b"application/x-www-form-urlencoded"
_BODYLESS_METHODS = frozenset({b"GET", b"HEAD"})


def parameters(query: bytes) -> dict[str, Any]:
    """
    Query or form parameters: a name given once maps to its value, a name
    given more than once to the list of its values.
    """
    parsed = parse_qs(query.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] if len(values) == 1 else values for name, values in parsed.items()}


def route_payload(request: IRequest) -> Any:
    """
    The payload a route handler gets for C{request}.

    @raise MalformedBody: The body does not decode as its content type says.
    """
    body = request.content.read() if request.method not in _BODYLESS_METHODS else b""
    if not body:
        return parameters(request.uri.split(b"?", 1)[1] if b"?" in request.uri else b"")
    kind = media_type(request.getHeader(b"content-type"))
    if kind == JSON_TYPE or kind.endswith(b"+json"):
        return loads(body)
    if kind.startswith(b"text/"):
        encoding = charset(request.getHeader(b"content-type"))
        try:
            return body.decode(encoding)
        except LookupError:
            raise MalformedBody(f"unknown charset {encoding!r}") from None
        except UnicodeDecodeError as e:
            raise MalformedBody(f"text body is not {'UTF-8' if encoding == 'utf-8' else encoding}: {e}") from None
    if kind == FORM_TYPE:
        if body.lstrip()[:1] in (b"{", b"["):
            # curl -d '{"x": 1}' labels JSON as a form (its default type);
            # no form starts with a brace or a bracket.
            try:
                return loads(body)
            except MalformedBody:
                pass
        return parameters(body)
    if not kind:
        # No content type: JSON if it is JSON (curl -d '{...}'), else bytes.
        try:
            return loads(body)
        except MalformedBody:
            return body
    return body


def route_data_type(marked: bytes | None) -> str:
    """
    The data type the registry marked a request with (the value of its
    C{x-micro-route} header); C{"dynamic"} for traffic that did not come
    through the registry.
    """
    if not marked:
        return DYNAMIC
    try:
        return check_data_type(marked.decode("ascii"))
    except (HttpError, UnicodeDecodeError):
        return DYNAMIC


def serve_route(instance: ServiceInstance, request: IRequest, marked: bytes | None) -> Any:
    """
    Answer route traffic with C{instance}'s handler.

    @param marked: The registry's route mark: the route's data type.
    """
    try:
        payload = route_payload(request)
    except MalformedBody as e:
        return write_error(request, HttpError(400, f"bad body for {instance.name!r}: {e}"))
    data_type = route_data_type(marked)
    return instance.answer(request, payload, lambda req, result: _write_result(instance, req, result, data_type))


def _write_result(instance: ServiceInstance, request: IRequest, result: Any, data_type: str) -> bytes:
    try:
        reply = encode_reply(result, data_type)
    except TypeError as e:
        return write_error(request, HttpError(500, f"service {instance.name!r} returned a reply that cannot be sent: {e}"))
    request.setResponseCode(reply.status)
    for name, value in reply.headers:
        request.setHeader(name, value)
    if not request.responseHeaders.hasHeader(b"x-content-type-options"):
        request.setHeader(b"x-content-type-options", b"nosniff")
    if reply.status in (204, 304):
        request.defaultContentType = None  # type: ignore[attr-defined]
    return reply.body
