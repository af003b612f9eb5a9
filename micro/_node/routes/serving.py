# -*- test-case-name: tests.node.routes.test_serving -*-
"""
Route traffic on a service instance: an HTTP request, with its own method
and path, answered by the service's handler.

The handler gets C{ctx.request} (method, path, url, query, headers) and a
payload: for GET and HEAD, and for any request without a body, the query
parameters; otherwise the body, decoded by its content type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.server import NOT_DONE_YET

from micro._http.site import write_error
from micro._kernel.codec import JSON_TYPE, MalformedBody, loads, media_type
from micro._kernel.errors import HttpError
from micro._kernel.route_paths import DYNAMIC, check_data_type
from micro._node.context import Context
from micro._node.handler import as_http_error
from micro._node.instance import _finish, _gone
from micro._node.routes.reply import encode_reply

if TYPE_CHECKING:
    from micro._node.instance import ServiceInstance

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
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedBody(f"text body is not UTF-8: {e}") from None
    if kind == FORM_TYPE:
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


def serve_route(instance: ServiceInstance, request: IRequest, marked: bytes | None) -> bytes | int:
    """
    Answer route traffic with C{instance}'s handler, counting the request
    as running until its reply is written, so a draining instance waits.

    @param marked: The registry's route mark: the route's data type.
    """
    try:
        payload = route_payload(request)
    except MalformedBody as e:
        return write_error(request, HttpError(400, f"bad body for {instance.name!r}: {e}"))
    data_type = route_data_type(marked)
    instance.request_started()
    try:
        result = instance.handler.invoke(payload, lambda: Context(instance.node, instance.name, request))
    except Exception:
        instance.request_finished()
        return _write_error(instance, request, Failure())
    if not isinstance(result, Deferred):
        instance.request_finished()
        return _write_result(instance, request, result, data_type)
    request.notifyFinish().addErrback(lambda _: result.cancel())  # type: ignore[attr-defined]
    result.addBoth(instance.request_finished)
    result.addCallbacks(_write_later, _error_later, callbackArgs=(instance, request, data_type),
                        errbackArgs=(instance, request))
    return NOT_DONE_YET


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


def _write_error(instance: ServiceInstance, request: IRequest, failure: Failure) -> bytes:
    settings = instance.node.settings
    error = as_http_error(failure, instance.name, development=settings.development, production=settings.production)
    return write_error(request, error, with_traceback=settings.development)


def _write_later(result: Any, instance: ServiceInstance, request: IRequest, data_type: str) -> None:
    if not _gone(request):
        _finish(request, _write_result(instance, request, result, data_type))


def _error_later(failure: Failure, instance: ServiceInstance, request: IRequest) -> None:
    if not _gone(request):
        _finish(request, _write_error(instance, request, failure))
