# -*- test-case-name: tests.registry.test_endpoint -*-
"""
The registry's HTTP face: JSON commands on C{POST /}, routes everywhere else.
"""

from __future__ import annotations

from typing import Any

from attrs import define
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from zope.interface import implementer

from micro._http.early_request import IBodyReceiver, IStreamingResource
from micro._http.lean_request import ILeanResource, LeanHandler
from micro._http.limits import BodyLimits, FirstKeyLimit, IBodyLimit, too_large_for
from micro._http.respond import internal_error, respond, without_head_body, write_error, write_json
from micro._kernel.codec import MalformedBody, loads
from micro._kernel.errors import HttpError
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import FRAMEWORK_PREFIX, REQUEST_ID_HEADER, TOKEN_HEADER
from micro._registry.commands import CommandReply, RegistryCommands, Sender

COMMAND = "a registry command"


@define
class CommandEndpoint:
    """
    Registry commands as HTTP requests: read and size-check the body, find
    who sent it, and run it with L{RegistryCommands}.
    """

    commands: RegistryCommands
    limits: BodyLimits = BodyLimits()

    def run(self, request: IRequest) -> Any:
        """
        The command's result, or a Deferred of it; bad input raises L{HttpError}.
        """
        body = request.content.read()
        try:
            document = loads(body)
        except MalformedBody as e:
            raise HttpError(400, f"{e}; a command is a JSON object like {{\"health\": true}}") from None
        self._check_size(document, len(body))
        propagation = Propagation.from_headers(request.getHeader) if request.getHeader(REQUEST_ID_HEADER) else None
        return self.commands.run(document, Sender(request.getHeader(TOKEN_HEADER), propagation))

    def _check_size(self, document: Any, size: int) -> None:
        """
        Commands other than C{call} have a smaller limit than C{call}.  The
        Site's requests refuse them by their first bytes (L{command_limit});
        this holds for a body read some other way.
        """
        limit = self.limits.command
        if limit is not None and size > limit and not (isinstance(document, dict) and "call" in document):
            raise HttpError(413, too_large_for(COMMAND, limit, size))


def command_limit(limits: BodyLimits) -> int | FirstKeyLimit | None:
    """
    The limit of a command's body: C{call} has its own, larger one; every
    other command is refused as soon as it passes the command limit, so a
    client without the token cannot make the registry hold more.
    """
    if limits.command is None or (limits.call is not None and limits.call <= limits.command):
        return limits.call
    return FirstKeyLimit(limits.command, limits.call, frozenset({"call"}), COMMAND)


def _write(result: Any, request: IRequest) -> bytes:
    if isinstance(result, CommandReply):
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
    C{POST /} of the registry: a command, answered when its result comes,
    and cancelled when the client goes away (which is how the registry
    learns that a watching process died).

    Not a Klein route: every node's watch, every few seconds, is a command,
    and Klein's per-request work (URL parsing, werkzeug matching, adapters)
    would be most of what the registry spends on them at scale
    (bench/bench_scale.py).
    """

    isLeaf = True

    def __init__(self, endpoint: CommandEndpoint):
        super().__init__()
        self._endpoint = endpoint

    def render(self, request: IRequest) -> Any:
        try:
            result = self._endpoint.run(request)
        except HttpError as e:
            return write_error(request, e)
        except Exception:
            return internal_error(Failure(), request, "the registry")
        return respond(request, result, lambda value: _write(value, request), lambda failure: _failed(failure, request),
                       "the registry")


@implementer(IStreamingResource, IBodyLimit, ILeanResource)
class RegistryResource(Resource):
    """
    Send C{POST /} to the command app, C{/_micro/...} to the registry's own
    endpoints (C{framework}, a Klein app) and every other request to C{routes}.

    Dispatching here, rather than in Klein's routing table, keeps commands
    and route traffic off Klein's per-request cost; and commands go
    through no C{twisted.web} request at all: a
    L{micro._http.lean.LeanChannel} serves them (L{lean_handler}).
    """

    isLeaf = True

    def __init__(self, commands: IResource, routes: IResource, limits: BodyLimits = BodyLimits(),
                 framework: IResource | None = None):
        super().__init__()
        self._commands = commands
        self._routes = routes
        self._framework = framework
        self._limits = limits
        self._command_limit = command_limit(limits)

    def body_limit(self, method: bytes, uri: bytes, headers: Any) -> int | FirstKeyLimit | None:
        path = uri.split(b"?", 1)[0]
        if (method == b"POST" and path == b"/") or (self._framework is not None and path.startswith(FRAMEWORK_PREFIX)):
            return self._command_limit
        return self._limits.route

    def lean_handler(self, method: bytes, path: bytes,
                     headers: dict[bytes, bytes]) -> tuple[LeanHandler, int | FirstKeyLimit | None] | None:
        """
        Commands are served lean, with the same limit as in L{render}; so
        are the route requests that the routes take lean.
        """
        if method == b"POST" and path == b"/":
            return self._commands.render, self._command_limit
        if b"?" in path:
            plain = path.split(b"?", 1)[0]
            if method == b"POST" and plain == b"/":
                return None
        else:
            plain = path
        if self._framework is not None and plain.startswith(FRAMEWORK_PREFIX):
            return None
        lean = getattr(self._routes, "lean_handler", None)
        handler = lean(method, path, headers) if lean is not None else None
        return None if handler is None else (handler, self._limits.route)

    def render(self, request: IRequest) -> Any:
        if request.method == b"POST" and request.path == b"/":
            return self._commands.render(request)
        if self._framework is not None and request.path.startswith(FRAMEWORK_PREFIX):
            return without_head_body(request, self._framework.render(request))
        return without_head_body(request, self._routes.render(request))

    def receive_body(self, request: IRequest, method: bytes, uri: bytes, length: int | None) -> IBodyReceiver | None:
        """
        Let the routes stream the bodies of route traffic; commands are
        read whole.
        """
        path = uri.split(b"?", 1)[0]
        if (method == b"POST" and path == b"/") or (self._framework is not None and path.startswith(FRAMEWORK_PREFIX)):
            return None
        if IStreamingResource.providedBy(self._routes):
            return self._routes.receive_body(request, method, uri, length)
        return None

