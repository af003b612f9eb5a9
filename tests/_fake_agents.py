"""
An in-memory IAgent for unit tests of timeouts: it never answers, and
fails each request, when cancelled, the way Twisted's Agent does at the
stage the test chooses.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectingCancelledError, ConnectionRefusedError
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseNeverReceived
from twisted.web.iweb import IAgent
from zope.interface import implementer


@implementer(IAgent)
@define
class SilentAgent:
    """
    Requests go nowhere.  Cancelling one fails it with what Agent raises
    while still connecting (C{ConnectingCancelledError}) or, with
    C{sent=True}, after the request went out (C{ResponseNeverReceived}).
    Requests to a URL in C{refuse_after} fail with "connection refused"
    after that many seconds of C{clock}.

    @ivar requests: The URL of every request, in order.
    @ivar cancelled: The URL of every request that was cancelled.
    """

    sent: bool = False
    clock: Any = None
    refuse_after: dict[bytes, float] = field(factory=dict)
    requests: list[bytes] = field(factory=list)
    cancelled: list[bytes] = field(factory=list)

    def request(self, method: bytes, uri: bytes, headers: Any = None, bodyProducer: Any = None) -> Deferred[Any]:
        self.requests.append(uri)
        if uri in self.refuse_after:
            d: Deferred[Any] = Deferred()
            self.clock.callLater(self.refuse_after[uri], d.errback, ConnectionRefusedError(uri.decode()))
            return d

        def cancel(d: Deferred[Any]) -> None:
            self.cancelled.append(uri)
            if self.sent:
                d.errback(ResponseNeverReceived([Failure(CancelledError())]))
            else:
                d.errback(ConnectingCancelledError(uri))

        return Deferred(cancel)
