# -*- test-case-name: tests.registry.test_endpoint -*-
"""
The registry's HTTP face: JSON commands on C{POST /}, routes everywhere else.
"""

from __future__ import annotations

from typing import Any

from attrs import define
from klein import Klein
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from micro._http.early_request import IBodyReceiver, IStreamingResource
from micro._http.limits import BodyLimits, IBodyLimit
from micro._http.site import internal_error, write_error, write_json
from micro._kernel.codec import MalformedBody, loads
from micro._kernel.errors import HttpError
from micro._kernel.protocol import TOKEN_HEADER
from micro._registry.commands import RawReply, RegistryCommands, Sender


@define
class RegistryApp:
    """
    Klein routes over L{RegistryCommands}; it holds no state of its own.
    """

    commands: RegistryCommands
    limits: BodyLimits = BodyLimits()

    router = Klein()

    @router.route("/", methods=["POST"])
    def command(self, request: IRequest) -> Any:
        try:
            body = request.content.read()
            document = loads(body)
            self._check_size(document, len(body))
            result = self.commands.run(document, Sender(request.getHeader(TOKEN_HEADER)))
        except MalformedBody as e:
            return write_error(request, HttpError(400, f"{e}; a command is a JSON object like {{\"health\": true}}"))
        except HttpError as e:
            return write_error(request, e)
        if isinstance(result, Deferred):
            return result.addCallbacks(_write, _failed, callbackArgs=(request,), errbackArgs=(request,))
        return _write(result, request)


    def _check_size(self, document: Any, size: int) -> None:
        """
        Commands other than C{call} have a smaller limit than the one the
        request was read under (the command is only known once parsed).
        """
        limit = self.limits.command
        if limit is not None and size > limit and not (isinstance(document, dict) and "call" in document):
            raise HttpError(413, f"a registry command may have at most {limit} bytes; this one has {size}")


def _write(result: Any, request: IRequest) -> bytes:
    if isinstance(result, RawReply):
        request.setResponseCode(result.code)
        request.setHeader(b"content-type", result.content_type)
        return result.body
    return write_json(request, result)


def _failed(failure: Failure, request: IRequest) -> bytes | None:
    if failure.check(HttpError):
        return write_error(request, failure.value)
    return internal_error(failure, request, "the registry")


class CommandResource(Resource):
    """
    C{RegistryApp.command} without Klein's routing around it.

    Every node's watch, every few seconds, is a command: with 10,000 nodes
    Klein's per-request work (URL parsing, werkzeug matching, adapters) was
    half of what the registry spent on them (measured with
    bench/bench_scale.py).  This does the two things of Klein's that
    commands need: write the result when it comes, and cancel it when the
    client goes away (which is how the registry learns that a watching
    process died).
    """

    isLeaf = True

    def __init__(self, app: RegistryApp):
        super().__init__()
        self._app = app

    def render(self, request: IRequest) -> Any:
        try:
            result = self._app.command(request)
        except Exception:
            return internal_error(Failure(), request, "the registry")
        if not isinstance(result, Deferred):
            return result
        request.notifyFinish().addErrback(lambda _: result.cancel())  # type: ignore[attr-defined]
        result.addCallback(_finish, request)
        result.addErrback(lambda failure: _finish(internal_error(failure, request, "the registry"), request))
        return NOT_DONE_YET


def _finish(body: bytes | None, request: IRequest) -> None:
    if body is None or getattr(request, "_disconnected", False) or getattr(request, "finished", False):
        return
    request.setHeader(b"content-length", b"%d" % len(body))  # rather than chunked
    request.write(body)
    request.finish()


@implementer(IStreamingResource, IBodyLimit)
class RegistryResource(Resource):
    """
    Send C{POST /} to the command app and every other request to C{routes}.

    Dispatching here, rather than in Klein's routing table, keeps route
    traffic off Klein's per-request cost.
    """

    isLeaf = True

    def __init__(self, commands: IResource, routes: IResource, limits: BodyLimits = BodyLimits()):
        super().__init__()
        self._commands = commands
        self._routes = routes
        self._limits = limits

    def body_limit(self, method: bytes, uri: bytes, headers: Any) -> int | None:
        if method == b"POST" and uri.split(b"?", 1)[0] == b"/":
            return self._limits.call
        return self._limits.route

    def render(self, request: IRequest) -> Any:
        if request.method == b"POST" and request.path == b"/":
            return self._commands.render(request)
        return self._routes.render(request)

    def receive_body(self, request: IRequest, method: bytes, uri: bytes, length: int | None) -> IBodyReceiver | None:
        """
        Let the routes stream the bodies of route traffic; commands are
        read whole.
        """
        if method == b"POST" and uri.split(b"?", 1)[0] == b"/":
            return None
        if IStreamingResource.providedBy(self._routes):
            return self._routes.receive_body(request, method, uri, length)
        return None

