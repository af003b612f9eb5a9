# -*- test-case-name: tests.node.test_handler -*-
"""
A user's service function, and how calling it turns into a result or an
L{HttpError}.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from attrs import frozen
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._kernel.errors import HttpError
from micro._kernel.propagation import Propagation
from micro._kernel.validation import check_service_name

_log = Logger()


def _positional_count(fn: Callable[..., Any]) -> int:
    """
    How many of (payload, ctx) C{fn} takes.

    A second parameter with a default gets C{ctx} only if it is named
    C{ctx} or C{context}: C{lambda payload, tag=tag: ...} keeps its C{tag}.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return 1
    positional = []
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            return 2
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional.append(parameter)
    if len(positional) >= 2:
        second = positional[1]
        if second.default is second.empty or second.name in ("ctx", "context"):
            return 2
        return 1
    return len(positional)


@frozen
class Handler:
    """
    A user's function that micro calls: C{fn()}, C{fn(payload)} or
    C{fn(payload, ctx)}; plain, C{async def}, or returning a Deferred.
    Services and pub/sub subscriptions are both handlers.

    @ivar takes: How many arguments C{fn} takes (0, 1 or 2).
    """

    fn: Callable[..., Any]
    takes: int

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> Handler:
        return cls(fn, _positional_count(fn))

    def invoke(self, payload: Any, context: Callable[[], Any]) -> Any:
        """
        Call the function; return its result or a Deferred of it.

        C{context} builds the C{ctx} argument, only for functions that take it.
        """
        takes = self.takes
        if takes == 1:
            result = self.fn(payload)
        elif takes == 2:
            result = self.fn(payload, context())
        else:
            result = self.fn()
        if inspect.iscoroutine(result):
            return Deferred.fromCoroutine(result)
        return result


@frozen
class ServiceHandler(Handler):
    """
    A handler hosted as the service C{name}.
    """

    name: str

    @classmethod
    def wrap(cls, fn: Callable[..., Any], name: str | None = None) -> ServiceHandler:
        """
        The handler for service C{name}, by default the function's own name.
        """
        if not callable(fn):
            raise TypeError(f"a service is a function; got {type(fn).__name__}")
        if name is None:
            name = getattr(fn, "__name__", None)
            if not name or name == "<lambda>":
                raise ValueError("this function has no usable name; pass name=... to create_service")
        check_service_name(name)
        return cls(fn, _positional_count(fn), name)


def as_http_error(failure: Failure, service: str, *, development: bool, production: bool,
                  propagation: Propagation | None = None) -> HttpError:
    """
    The L{HttpError} a caller sees for a failed handler.

    An C{HttpError} passes unchanged.  Anything else is a 500, logged here
    with its traceback; the caller gets the exception's type and text
    (nothing at all in production), and the traceback only in development.
    """
    error = failure.value
    if isinstance(error, HttpError):
        if error.traceback and not development:
            return HttpError(error.status, error.message)
        return error
    if propagation is None:  # an in-process call that no request led to
        _log.failure("service {service} failed", failure, service=service)
    else:
        _log.failure("service {service} failed (request {request_id}, trace {trace_id})", failure, service=service,
                     request_id=propagation.request_id, trace_id=propagation.trace_id)
    if production:
        message = f"internal error in service {service!r}"
    else:
        message = f"service {service!r} failed: {type(error).__name__}: {error}"
    trace = failure.getTraceback() if development else None
    return HttpError(500, message, traceback=trace)
