"""
Answering a request later (respond_later), on a real twisted.web Request
over a fake channel: what is written, when, and what happens when the
client leaves first.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.test.requesthelper import DummyChannel

from micro._http.respond import respond, respond_later, write_error
from micro._kernel.errors import HttpError

_CHANNELS: dict[int, DummyChannel] = {}


def _request() -> Request:
    channel = DummyChannel()
    request = Request(channel, False)
    request.method = b"POST"
    request.clientproto = b"HTTP/1.1"
    _CHANNELS[id(request)] = channel  # the request lets go of its channel once finished
    return request


def _sent(request: Request) -> bytes:
    return _CHANNELS[id(request)].transport.written.getvalue()  # type: ignore[no-any-return]


def _body(value: Any) -> bytes:
    return b"result " + str(value).encode()


def _error(failure: Failure) -> bytes:
    return b"error " + failure.getErrorMessage().encode()


def test_the_result_is_written_with_its_length_when_it_comes() -> None:
    """
    Nothing is written until the Deferred fires; then the body, with a content length, and the request ends.
    """
    request, d = _request(), Deferred[Any]()
    assert respond_later(request, d, _body, _error, "test") == NOT_DONE_YET
    assert _sent(request) == b""
    d.callback(7)
    sent = _sent(request)
    assert sent.endswith(b"\r\n\r\nresult 7")
    assert b"content-length: 8" in sent.lower()
    assert b"chunked" not in sent.lower()
    assert request.finished


def test_a_failure_is_answered_by_on_failure() -> None:
    """
    A failed Deferred gets the body on_failure makes of it.
    """
    request, d = _request(), Deferred[Any]()
    respond_later(request, d, _body, lambda f: write_error(request, HttpError(409, "taken")), "test")
    d.errback(HttpError(409, "taken"))
    assert request.code == 409
    assert _sent(request).endswith(b'{"error":"taken","status":409}')


def test_a_client_that_leaves_cancels_the_work_and_gets_nothing() -> None:
    """
    When the connection drops first, the Deferred is cancelled and neither callback runs.
    """
    request, calls = _request(), []
    d: Deferred[Any] = Deferred()
    respond_later(request, d, lambda v: calls.append(v) or b"", lambda f: calls.append(f) or b"", "test")
    request.connectionLost(Failure(ConnectionLost()))
    assert d.called
    assert calls == []
    assert _sent(request) == b""


def test_a_surprise_becomes_a_500() -> None:
    """
    An on_result that raises answers a 500 that names the server, not the exception.
    """
    request, d = _request(), Deferred[Any]()

    def broken(value: Any) -> bytes:
        raise RuntimeError("secret detail")

    respond_later(request, d, broken, _error, "the test server")
    d.callback(1)
    assert request.code == 500
    assert b"internal error in the test server" in _sent(request)
    assert b"secret detail" not in _sent(request)


def test_none_writes_nothing_and_a_finished_request_is_left_alone() -> None:
    """
    on_result may answer nothing; a request already finished elsewhere is not written to again.
    """
    request, d = _request(), Deferred[Any]()
    respond_later(request, d, lambda v: None, _error, "test")
    d.callback(1)
    assert _sent(request) == b"" and not request.finished
    request.finish()
    other: Deferred[Any] = Deferred()
    respond_later(request, other, _body, _error, "test")
    other.callback(2)
    assert b"result 2" not in _sent(request)


def test_callbacks_added_afterwards_run_after_the_write() -> None:
    """
    Work chained after respond_later (in-flight accounting) sees the reply already written.
    """
    request, d = _request(), Deferred[Any]()
    respond_later(request, d, _body, _error, "test")
    seen: list[bool] = []
    d.addBoth(lambda _: seen.append(bool(request.finished)))
    d.callback(3)
    assert seen == [True]


def test_no_content_length_for_bodiless_statuses() -> None:
    """
    A 204 reply carries no content length.
    """
    request, d = _request(), Deferred[Any]()

    def no_content(value: Any) -> bytes:
        request.setResponseCode(204)
        return b""

    respond_later(request, d, no_content, _error, "test")
    d.callback(None)
    assert b"content-length" not in _sent(request).lower()


def test_respond_answers_plain_values_at_once() -> None:
    """
    A value that is not a Deferred is answered by on_result directly.
    """
    request = _request()
    assert respond(request, 5, _body, _error, "test") == b"result 5"


def test_cancelled_work_is_not_reported_as_an_error() -> None:
    """
    A cancellation that reaches on_failure's default path is answered with nothing, not a 500.
    """
    from micro._http.respond import internal_error

    request, d = _request(), Deferred[Any]()
    respond_later(request, d, _body, lambda f: internal_error(f, request, "test"), "test")
    d.errback(CancelledError())
    assert _sent(request) == b""
