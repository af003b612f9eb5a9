# -*- test-case-name: tests.http.test_respond -*-
"""
Answering an HTTP request, at once or later: the one place that knows how
a C{twisted.web} request is answered asynchronously.

Every micro resource that answers later (registry commands, calls, route
traffic, deliveries) goes through L{respond_later}: it cancels the work
when the client goes away, never writes to a request that is over, and
turns a surprise into a logged 500.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http import NO_BODY_CODES
from twisted.web.iweb import IRequest
from twisted.web.server import NOT_DONE_YET

from micro._kernel.codec import JSON_TYPE, dumps, error_body
from micro._kernel.errors import HttpError

_log = Logger()

OnResult = Callable[[Any], "bytes | None"]
OnFailure = Callable[[Failure], "bytes | None"]


def write_json(request: IRequest, value: Any, code: int = 200) -> bytes:
    """
    Set a JSON reply and return its body (for C{render} to return).
    """
    request.setResponseCode(code)
    request.setHeader(b"content-type", JSON_TYPE)
    return dumps(value)


def write_error(request: IRequest, error: HttpError, *, with_traceback: bool = False) -> bytes:
    """
    Set an error reply and return its JSON body.
    """
    request.setResponseCode(error.status)
    request.setHeader(b"content-type", JSON_TYPE)
    return error_body(error, with_traceback=with_traceback)


def internal_error(failure: Failure, request: IRequest, where: str) -> bytes | None:
    """
    Log an unexpected failure and answer a 500 that tells nothing of it.

    Returns C{None} when the client went away (the request was cancelled).
    """
    if failure.check(CancelledError):
        return None
    _log.failure("unexpected error in {where}", failure, where=where)
    return write_error(request, HttpError(500, f"internal error in {where}; see its log"))


def without_head_body(request: IRequest, body: Any) -> Any:
    """
    What C{render} returns for C{body}: for a HEAD request, nothing, with
    the length the body would have had.  (Twisted drops the body of a HEAD
    reply too, but logs a warning for every one.)
    """
    if request.method == b"HEAD" and isinstance(body, bytes) and body:
        request.setHeader(b"content-length", b"%d" % len(body))
        return b""
    return body


def respond(request: IRequest, result: Any, on_result: OnResult, on_failure: OnFailure, where: str) -> Any:
    """
    Answer with C{on_result(result)} now, or, if C{result} is a Deferred,
    later (see L{respond_later}).
    """
    if isinstance(result, Deferred):
        return respond_later(request, result, on_result, on_failure, where)
    return on_result(result)


def respond_later(request: IRequest, d: Deferred[Any], on_result: OnResult, on_failure: OnFailure,
                  where: str) -> int:
    """
    Answer C{request} when C{d} fires: with the body C{on_result} makes of
    its result, or C{on_failure} of its failure (either may set the status
    and headers, and return C{None} to write nothing).

    If the client goes away first, C{d} is cancelled and neither is called.
    Whatever either raises becomes a logged 500.  Callbacks added to C{d}
    after this one run once the reply is written.

    @param where: Names the server in the log line of a 500.
    @return: C{NOT_DONE_YET}, for C{render} to return.
    """
    answer = _LaterAnswer(request, d, where)
    request.notifyFinish().addErrback(answer.client_gone)  # type: ignore[attr-defined]
    d.addCallbacks(answer.succeeded, answer.failed, callbackArgs=(on_result,), errbackArgs=(on_failure,))
    return NOT_DONE_YET


class _LaterAnswer:
    """
    One request waiting for its answer, and whether its client is still there.
    """

    __slots__ = ("_request", "_d", "_where", "_gone")

    def __init__(self, request: IRequest, d: Deferred[Any], where: str):
        self._request = request
        self._d = d
        self._where = where
        self._gone = False

    def client_gone(self, reason: Failure) -> None:
        self._gone = True
        self._d.cancel()

    def succeeded(self, value: Any, on_result: OnResult) -> None:
        if not self._gone:
            self._write(on_result, value)

    def failed(self, failure: Failure, on_failure: OnFailure) -> None:
        if not self._gone:
            self._write(on_failure, failure)

    def _write(self, make: Callable[[Any], bytes | None], outcome: Any) -> None:
        request: Any = self._request
        try:
            body = make(outcome)
        except Exception:
            body = internal_error(Failure(), request, self._where)
        if body is None or self._gone or request.finished:
            return
        if request.code not in NO_BODY_CODES:
            request.setHeader(b"content-length", b"%d" % len(body))  # rather than chunked
        request.write(body)
        request.finish()
