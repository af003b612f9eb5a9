# -*- test-case-name: tests.http.test_streams -*-
"""
Moving HTTP bodies through a proxy without holding them, with backpressure
both ways.

L{BodyPipe} carries a request body from the client's connection to the
upstream request as it arrives; L{ResponseRelay} carries a response body
from the upstream connection to the client.  When the receiving side cannot
keep up, the sending side's transport is paused, so at most a few buffers'
worth of either body is ever in memory.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IConsumer, IPushProducer
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import IBodyProducer, IResponse
from twisted.web.server import Request
from zope.interface import implementer

# Bytes of request body held while the upstream connection is not ready for
# them; past this the client's connection is paused.
HIGH_WATER = 256 * 1024


@implementer(IBodyProducer)
class BodyPipe:
    """
    A request body that is still arriving, as the body of another request.

    @ivar started: Whether the upstream request began taking the body; a
        request whose body was not started may still go somewhere else.
    """

    def __init__(self, source: IPushProducer, length: Any):
        self.length = length
        self.started = False
        self._source = source
        self._pending: deque[bytes] = deque()
        self._pending_size = 0
        self._consumer: IConsumer | None = None
        self._finished: Deferred[None] | None = None
        self._consumer_paused = False
        self._source_paused = False
        self._done = False
        self._dropping = False
        self._stopped = False
        self._failure: Failure | None = None

    # -- the arriving side --------------------------------------------------

    def body_received(self, data: bytes) -> None:
        if self._dropping:
            return
        consumer = self._consumer
        if consumer is not None and not self._consumer_paused and not self._pending:
            consumer.write(data)
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size > HIGH_WATER and not self._source_paused:
            self._source_paused = True
            self._source.pauseProducing()

    def body_done(self) -> None:
        self._done = True
        self._flush()

    def discard(self) -> None:
        """
        Nobody will take the body (the request failed): read the rest of it
        and drop it, so that the client gets to its reply.
        """
        self._drop()

    def fail(self, reason: Failure) -> None:
        """
        The body will never be complete (the client went away).
        """
        finished = self._finished
        self._failure = reason
        self._drop()
        if finished is not None and not finished.called and not self._stopped:
            finished.errback(reason)

    # -- IBodyProducer, for the upstream request ---------------------------------

    def startProducing(self, consumer: IConsumer) -> Deferred[None]:
        self.started = True
        self._consumer = consumer
        self._finished = Deferred()
        if self._failure is not None:
            self._finished.errback(self._failure)
        else:
            self._flush()
        return self._finished

    def pauseProducing(self) -> None:
        self._consumer_paused = True

    def resumeProducing(self) -> None:
        self._consumer_paused = False
        self._flush()

    def stopProducing(self) -> None:
        # The upstream request failed or was cancelled; what the client still
        # sends has nowhere to go.  Its Deferred must not fire any more.
        self._stopped = True
        self._drop()

    def _flush(self) -> None:
        consumer = self._consumer
        if consumer is None or self._dropping:
            return
        pending = self._pending
        while pending and not self._consumer_paused:
            data = pending.popleft()
            self._pending_size -= len(data)
            consumer.write(data)
        if pending:
            return
        self._resume_source()
        finished = self._finished
        if self._done and finished is not None and not finished.called:
            finished.callback(None)

    def _drop(self) -> None:
        self._dropping = True
        self._pending.clear()
        self._pending_size = 0
        self._resume_source()

    def _resume_source(self) -> None:
        if self._source_paused:
            self._source_paused = False
            self._source.resumeProducing()


@implementer(IPushProducer)
class ResponseRelay(Protocol):
    """
    Write an upstream response body to a client's request as it arrives,
    pausing the upstream connection while the client's is full.
    """

    _log = Logger()

    def __init__(self, request: Request, what: str):
        self._request = request
        self._what = what
        self._paused = False
        self._client_gone = False

    def connectionMade(self) -> None:
        if self._paused:
            self.transport.pauseProducing()  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        if not self._client_gone:
            self._request.write(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self._client_gone:
            return
        request = self._request
        request.unregisterProducer()
        if reason.check(ResponseDone, PotentialDataLoss):
            request.finish()
            return
        # Headers are sent: the only way left to say the body is incomplete
        # is to close the connection before its end.
        self._log.info("{what}: the reply broke off: {reason}", what=self._what, reason=reason.getErrorMessage())
        request.loseConnection()

    def client_gone(self) -> None:
        """
        The client disconnected: stop reading the upstream reply.
        """
        self._client_gone = True
        self.stopProducing()

    def pauseProducing(self) -> None:
        self._paused = True
        if self.transport is not None:
            self.transport.pauseProducing()  # type: ignore[attr-defined]

    def resumeProducing(self) -> None:
        self._paused = False
        if self.transport is not None:
            self.transport.resumeProducing()  # type: ignore[attr-defined]

    def stopProducing(self) -> None:
        if self.transport is not None:
            self.transport.stopProducing()  # type: ignore[attr-defined]


class _Dropper(Protocol):
    def connectionMade(self) -> None:
        self.transport.stopProducing()  # type: ignore[union-attr]


def drop_body(response: IResponse) -> None:
    """
    Abandon a response nobody will read, closing its connection.
    """
    response.deliverBody(_Dropper())
