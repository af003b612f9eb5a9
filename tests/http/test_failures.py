"""
Classifying failed outbound requests: how far each kind of failure got,
from the exceptions Twisted's client raises.
"""

from __future__ import annotations

import pytest
from twisted.internet.defer import CancelledError
from twisted.internet.error import (ConnectingCancelledError, ConnectionDone, ConnectionLost, ConnectionRefusedError,
                                    DNSLookupError, TimeoutError)
from twisted.python.failure import Failure
from twisted.web._newclient import RequestNotSent, RequestTransmissionFailed, ResponseNeverReceived

from micro._http.failures import Kind, RequestTimedOut, classify


@pytest.mark.parametrize("error", [
    ConnectionRefusedError("111: Connection refused"),
    TimeoutError("connect timed out"),
    DNSLookupError("no such host"),
    RequestNotSent(),
])
def test_nothing_sent(error: Exception) -> None:
    """
    Failures to connect, look up or write count as not sent, safe to send elsewhere.
    """
    outcome = classify(Failure(error))
    assert outcome.kind is Kind.NOT_SENT
    assert outcome.never_reached_server


@pytest.mark.parametrize("wrapper", [ResponseNeverReceived, RequestTransmissionFailed])
def test_a_reset_before_any_reply_never_reached_the_server(wrapper: type) -> None:
    """
    A connection reset before the reply, every reason a lost connection, is "reset unread".
    """
    outcome = classify(Failure(wrapper([Failure(ConnectionLost("reset by peer"))])))
    assert outcome.kind is Kind.RESET_UNREAD
    assert outcome.never_reached_server
    assert outcome.detail == "ConnectionLost: Connection to the other side was lost in a non-clean fashion: reset by peer"


def test_a_clean_close_before_the_reply_may_have_run() -> None:
    """
    A server that read the request and then closed cleanly may have run it: broken, not resent.
    """
    outcome = classify(Failure(ResponseNeverReceived([Failure(ConnectionDone("closed"))])))
    assert outcome.kind is Kind.BROKEN
    assert not outcome.never_reached_server


def test_timeouts_and_cancellations() -> None:
    """
    The request's own deadline and a caller's cancellation are told apart, wrapped or not.
    """
    assert classify(Failure(RequestTimedOut("no reply within 2s"))).kind is Kind.TIMED_OUT
    assert classify(Failure(CancelledError())).kind is Kind.CANCELLED
    assert classify(Failure(ConnectingCancelledError(None))).kind is Kind.CANCELLED
    assert classify(Failure(ResponseNeverReceived([Failure(CancelledError())]))).kind is Kind.CANCELLED


def test_detail_names_the_underlying_error() -> None:
    """
    The detail is one line naming the exception inside the client's wrapper, not a list of Failures.
    """
    outcome = classify(Failure(ResponseNeverReceived([Failure(ConnectionDone("peer closed"))])))
    assert outcome.detail.startswith("ConnectionDone: ")
    assert "Failure" not in outcome.detail
