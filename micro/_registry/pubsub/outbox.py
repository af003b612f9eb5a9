# -*- test-case-name: tests.registry.pubsub.test_outbox -*-
"""
Delivering messages to one subscriber process, in order, with deadlines.

The registry keeps one L{Outbox} per subscriber location.  It has at most
one delivery request in flight: messages published meanwhile wait in the
outbox and go together in the next request, in publication order.  So a
subscriber never sees two deliveries overlap (they could otherwise arrive
over two connections in either order), and a busy subscriber costs one
request per round trip, not one per message.

Every message has a deadline.  When it passes, the publisher gets an error
for this subscriber at once, whether the message was still waiting (it is
then dropped: delivery is at most once) or on its way.  Outboxes never
wait for each other, so a slow or dead subscriber delays only itself.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from micro._http.client import FullResponse, HttpClient
from micro._http.failures import Kind, classify
from micro._kernel.codec import JSON_TYPE, MalformedBody, error_from_reply, loads
from micro._kernel.protocol import DELIVERY_PATH, TOKEN_HEADER

MAX_BATCH = 256
REPLY_LIMIT = 16 * 1024 * 1024

Outcome = dict[str, list[Any]]


def error_outcome(location: str, status: int, message: str) -> Outcome:
    """
    The outcome of a delivery that failed as a whole.
    """
    return {"results": [], "errors": [{"location": location, "status": status, "error": message}]}


def delivery_headers(token: str | None) -> Headers:
    headers = Headers({b"content-type": [JSON_TYPE]})
    if token:
        headers.addRawHeader(TOKEN_HEADER, token.encode("utf-8"))
    return headers


@define(eq=False)
class _Message:
    body: bytes
    timeout: float
    deadline: float
    deferred: Deferred[Outcome]
    timer: Any = None
    sent: bool = False


@define(eq=False)
class Outbox:
    """
    Messages on their way to the subscriber process at C{location}.
    """

    location: str
    _http: HttpClient
    _clock: Any
    _headers: Headers
    _queue: deque[_Message] = field(factory=deque, init=False)
    _sending: bool = field(default=False, init=False)
    _closed: bool = field(default=False, init=False)
    _url: bytes = field(init=False)

    def __attrs_post_init__(self) -> None:
        self._url = (self.location + DELIVERY_PATH).encode("utf-8")

    @property
    def idle(self) -> bool:
        return not self._sending and not self._queue

    def post(self, body: bytes, timeout: float) -> Deferred[Outcome]:
        """
        Queue one encoded message; the Deferred fires with this
        subscriber's outcome, never with a failure.
        """
        d: Deferred[Outcome] = Deferred()
        if self._closed:
            d.callback(error_outcome(self.location, 503, "the registry is stopping"))
            return d
        message = _Message(body, timeout, self._clock.seconds() + timeout, d)
        message.timer = self._clock.callLater(timeout, self._expired, message)
        self._queue.append(message)
        if not self._sending:
            self._send()
        return d

    def close(self) -> None:
        """
        Answer every message still waiting with an error and cancel timers.
        """
        self._closed = True
        waiting, self._queue = list(self._queue), deque()
        for message in waiting:
            self._settle(message, error_outcome(self.location, 503, "the registry stopped before delivery"))

    # -- internals --------------------------------------------------------

    def _send(self) -> None:
        batch: list[_Message] = []
        while self._queue and len(batch) < MAX_BATCH:
            message = self._queue.popleft()
            message.sent = True
            batch.append(message)
        if not batch:
            return
        self._sending = True
        body = b'{"messages":[' + b",".join(m.body for m in batch) + b"]}"
        timeout = max(m.deadline for m in batch) - self._clock.seconds()
        d = self._http.request(b"POST", self._url, body, self._headers, max(timeout, 0.001), REPLY_LIMIT)
        d.addCallbacks(self._delivered, self._failed, callbackArgs=(batch,), errbackArgs=(batch,))
        d.addBoth(self._next)

    def _next(self, _: Any) -> None:
        self._sending = False
        if self._queue and not self._closed:
            self._send()

    def _delivered(self, reply: FullResponse, batch: list[_Message]) -> None:
        if reply.code != 200:
            error = error_from_reply(reply.code, reply.body, reply.header(b"content-type"),
                                     f"subscriber at {self.location}")
            for message in batch:
                self._settle(message, error_outcome(self.location, error.status, error.message))
            return
        try:
            replies = loads(reply.body).get("replies")
            if not isinstance(replies, list) or len(replies) != len(batch):
                raise MalformedBody("no reply list matching the messages")
        except (MalformedBody, AttributeError) as e:
            for message in batch:
                self._settle(message, error_outcome(self.location, 502, f"subscriber at {self.location} "
                                                                         f"sent a malformed reply: {e}"))
            return
        for message, outcome in zip(batch, replies):
            self._settle(message, _checked(outcome, self.location))

    def _failed(self, failure: Failure, batch: list[_Message]) -> None:
        outcome = classify(failure)
        if outcome.kind is Kind.TIMED_OUT:
            for message in batch:
                self._settle(message, self._no_reply(message))
            return
        if outcome.kind is Kind.NOT_SENT:
            status, why = 503, f"subscriber at {self.location} is unreachable"
        else:
            status, why = 502, f"subscriber at {self.location} dropped the delivery"
        for message in batch:
            self._settle(message, error_outcome(self.location, status, f"{why}: {outcome.detail}"))

    def _expired(self, message: _Message) -> None:
        message.timer = None
        if message.sent:
            self._settle(message, self._no_reply(message))
            return
        self._queue.remove(message)
        self._settle(message, error_outcome(
            self.location, 504,
            f"not delivered to {self.location} within {message.timeout:g}s: it was still busy with earlier messages"))

    def _no_reply(self, message: _Message) -> Outcome:
        return error_outcome(self.location, 504,
                             f"no reply from the subscriber at {self.location} within {message.timeout:g}s")

    def _settle(self, message: _Message, outcome: Outcome) -> None:
        if message.timer is not None:
            if message.timer.active():
                message.timer.cancel()
            message.timer = None
        if not message.deferred.called:
            message.deferred.callback(outcome)


def _checked(outcome: Any, location: str) -> Outcome:
    if (isinstance(outcome, dict) and isinstance(outcome.get("results"), list)
            and isinstance(outcome.get("errors"), list)):
        return outcome
    return error_outcome(location, 502, f"subscriber at {location} sent a malformed outcome")
