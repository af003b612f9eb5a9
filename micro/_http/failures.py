# -*- test-case-name: tests.http.test_failures -*-
"""
What became of an outbound request that failed: the one place that reads
Twisted's client exceptions.

Every caller (calls, the route proxy, deliveries, the location probe, the
registry client) asks L{classify} and maps the kind to a status of its
own in one line.
"""

from __future__ import annotations

from enum import Enum

from attrs import frozen
from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectError, ConnectingCancelledError, ConnectionLost, DNSLookupError
from twisted.python.failure import Failure
from twisted.web._newclient import RequestNotSent, RequestTransmissionFailed, ResponseNeverReceived


class RequestTimedOut(Exception):
    """
    No complete reply came within the request's timeout; it was cancelled.
    """


class Kind(Enum):
    """
    How far a failed request got.
    """

    NOT_SENT = "not sent"
    """Nothing reached the server: connecting failed, or the request was never written."""

    RESET_UNREAD = "reset unread"
    """The server's host reset the connection before reading the request."""

    TIMED_OUT = "timed out"
    """The request's own timeout cancelled it."""

    CANCELLED = "cancelled"
    """Whoever sent it cancelled it."""

    BROKEN = "broken"
    """The connection broke after the server may have read the request."""


@frozen
class RequestFailure:
    """
    A failed request: how far it got, and one line saying why.
    """

    kind: Kind
    detail: str

    @property
    def never_reached_server(self) -> bool:
        """
        Whether the request cannot have run on the server, so that sending
        it elsewhere cannot run it twice.
        """
        return self.kind in (Kind.NOT_SENT, Kind.RESET_UNREAD)


def classify(failure: Failure) -> RequestFailure:
    """
    Say how far the request behind C{failure} got.

    A reset before any reply means the request never reached the server's
    code: a TCP peer resets a connection (rather than closing it cleanly)
    when its socket is closed with our request still unread, or is already
    gone when the request arrives; one that read the request and then died
    closes cleanly.
    """
    detail = _describe(failure)
    if failure.check(RequestTimedOut):
        return RequestFailure(Kind.TIMED_OUT, detail)
    if _cancelled(failure):
        return RequestFailure(Kind.CANCELLED, detail)
    if failure.check(ConnectError, DNSLookupError, RequestNotSent):
        return RequestFailure(Kind.NOT_SENT, detail)
    if failure.check(ResponseNeverReceived, RequestTransmissionFailed):
        reasons = failure.value.reasons
        if reasons and all(reason.check(ConnectionLost) for reason in reasons):
            return RequestFailure(Kind.RESET_UNREAD, detail)
    return RequestFailure(Kind.BROKEN, detail)


def _cancelled(failure: Failure) -> bool:
    if failure.check(CancelledError, ConnectingCancelledError):
        return True
    reasons = getattr(failure.value, "reasons", None) or ()
    return any(reason.check(CancelledError) for reason in reasons)


def _describe(failure: Failure) -> str:
    """
    The exception's type and text, looking inside the wrappers of the
    HTTP client (which hold a list of underlying failures).
    """
    value = failure.value
    reasons = getattr(value, "reasons", None)
    if reasons:
        value = reasons[0].value
    text = str(value).strip().rstrip(".")
    name = type(value).__name__
    return f"{name}: {text}" if text and name not in text else (text or name)
