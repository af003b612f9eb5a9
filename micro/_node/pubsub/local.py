# -*- test-case-name: tests.node.pubsub.test_subscriber -*-
"""
A process's own subscriptions: its handlers, and what runs them when a
delivery arrives.

Each L{Subscription} runs its handler on one message at a time, in the
order the registry numbered them: a message that arrives while the
handler still works on an earlier one (an C{async def} handler, or a
delivery that the registry gave up waiting for) waits its turn.  Other
subscriptions do not wait for it, and a handler that raises only puts an
error in the outcome.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._kernel.channels import is_wildcard, matches, segments
from micro._kernel.errors import HttpError
from micro._kernel.propagation import Propagation
from micro._node.handler import Handler
from micro._node.node import NodeCore

# A handler that falls this far behind loses the newest messages (an error
# in their outcome) rather than queueing without bound.
MAX_WAITING = 10_000

Entry = dict[str, Any]


@define(eq=False)
class MessageContext:
    """
    The C{ctx} a handler may take as its second argument.

    @ivar channel: The channel the message was published to (useful with
        a wildcard subscription).
    @ivar subscription: The id of the subscription being served.
    @ivar propagation: The context the message carries (its request id),
        handed on by L{call} and L{publish}.
    """

    _node: NodeCore
    channel: str
    subscription: str
    propagation: Propagation

    def __repr__(self) -> str:
        return f"<MessageContext of {self.channel!r} for {self.subscription}, request {self.request_id}>"

    @property
    def clock(self) -> Any:
        """
        The node's clock, as C{ctx.clock} of a service.
        """
        return self._node.reactor

    @property
    def request_id(self) -> str:
        """
        The request id of the request that published the message.
        """
        return self.propagation.request_id

    @property
    def trace_id(self) -> str:
        """
        The trace id of the request that published the message.
        """
        return self.propagation.trace_id

    def call(self, service: str, payload: Any = None, **options: Any) -> Deferred[Any]:
        return self._node.call(service, payload, propagation=self.propagation, **options)

    def publish(self, channel: str, message: Any, **options: Any) -> Deferred[dict[str, Any]]:
        return self._node.publish(channel, message, propagation=self.propagation, **options)


@define(eq=False)
class Subscription:
    """
    One handler on one channel or pattern.

    @ivar epoch: The registry incarnation the subscription was made in.
    @ivar after: The registry's message number when it was made: of that
        epoch, only later messages are for this subscription.
    @ivar ready: Whether the registry confirmed it; messages that arrive
        before wait until it does.
    """

    id: str
    pattern: str
    handler: Handler
    node: NodeCore
    segments: tuple[str, ...] | None = None
    epoch: str | None = None
    after: int = 0
    ready: bool = False
    active: bool = True
    _busy: bool = field(default=False, init=False)
    _queue: deque[tuple[dict[str, Any], str, Deferred[Entry | None]]] = field(factory=deque, init=False)

    _log = Logger()

    def confirm(self, epoch: str | None, after: int) -> None:
        self.epoch, self.after, self.ready = epoch, after, True
        self._pump()

    def cancel(self) -> None:
        """
        Stop: messages that were waiting are dropped, not handled.
        """
        self.active = False
        self.ready = True
        self._pump()

    def offer(self, envelope: dict[str, Any], location: str) -> Entry | None | Deferred[Entry | None]:
        """
        Handle one message now, or once the messages before it are done.
        """
        if self.ready and not self._busy and not self._queue:
            return self._start(envelope, location)
        if len(self._queue) >= MAX_WAITING:
            return self._error(location, 503, f"handler is {MAX_WAITING} messages behind; message dropped")
        d: Deferred[Entry | None] = Deferred()
        self._queue.append((envelope, location, d))
        return d

    def _wants(self, envelope: dict[str, Any]) -> bool:
        return self.active and (envelope["epoch"] != self.epoch or envelope["seq"] > self.after)

    def _start(self, envelope: dict[str, Any], location: str) -> Entry | None | Deferred[Entry | None]:
        if not self._wants(envelope):
            return None
        channel = envelope["channel"]
        propagation = Propagation.from_text_headers(envelope.get("headers"))
        watch = None if self.node.observer is None else self.node.observer.consuming(channel, propagation)
        if watch is not None:
            propagation = watch.propagation
        try:
            result = self.handler.invoke(envelope["message"],
                                         lambda: MessageContext(self.node, channel, self.id, propagation))
        except Exception:
            failure = Failure()
            if watch is not None:
                watch.done(failure)
            return self._failed(failure, location, propagation)
        if watch is not None:
            result = watch.done(result) if not isinstance(result, Deferred) else result.addBoth(watch.done)
        if not isinstance(result, Deferred):
            return {"subscription": self.id, "location": location, "result": result}
        self._busy = True
        result.addCallbacks(lambda value: {"subscription": self.id, "location": location, "result": value},
                            self._failed, errbackArgs=(location, propagation))
        result.addBoth(self._finished)
        return result

    def _finished(self, outcome: Any) -> Any:
        self._busy = False
        self._pump()
        return outcome

    def _pump(self) -> None:
        while self._queue and self.ready and not self._busy:
            envelope, location, d = self._queue.popleft()
            started = self._start(envelope, location)
            if isinstance(started, Deferred):
                started.chainDeferred(d)
            else:
                d.callback(started)

    def _failed(self, failure: Failure, location: str, propagation: Propagation) -> Entry:
        error = failure.value
        if isinstance(error, HttpError):
            return self._error(location, error.status, error.message)
        self._log.failure("handler {subscription} for {channel} failed (request {request_id}, trace {trace_id})",
                          failure, subscription=self.id, channel=self.pattern, request_id=propagation.request_id,
                          trace_id=propagation.trace_id)
        if self.node.settings.production:
            return self._error(location, 500, f"a handler for {self.pattern!r} failed")
        return self._error(location, 500, f"handler for {self.pattern!r} failed: {type(error).__name__}: {error}")

    def _error(self, location: str, status: int, message: str) -> Entry:
        return {"subscription": self.id, "location": location, "status": status, "error": message}


@define(eq=False)
class LocalSubscriptions:
    """
    The subscriptions of one process, by channel or pattern.
    """

    _node: NodeCore
    _exact: dict[str, dict[str, Subscription]] = field(factory=dict, init=False)
    _wildcards: dict[str, dict[str, Subscription]] = field(factory=dict, init=False)
    _by_id: dict[str, Subscription] = field(factory=dict, init=False)

    def add(self, sub_id: str, pattern: str, fn: Callable[..., Any]) -> Subscription:
        handler = Handler.of(fn)
        wildcard = is_wildcard(pattern)
        sub = Subscription(sub_id, pattern, handler, self._node, segments(pattern) if wildcard else None)
        (self._wildcards if wildcard else self._exact).setdefault(pattern, {})[sub_id] = sub
        self._by_id[sub_id] = sub
        return sub

    def remove(self, sub_id: str) -> Subscription | None:
        sub = self._by_id.pop(sub_id, None)
        if sub is None:
            return None
        table = self._wildcards if sub.segments is not None else self._exact
        subs = table.get(sub.pattern, {})
        subs.pop(sub_id, None)
        if not subs:
            table.pop(sub.pattern, None)
        sub.cancel()
        return sub

    def count(self, pattern: str) -> int:
        return len(self._exact.get(pattern, ())) + len(self._wildcards.get(pattern, ()))

    def patterns(self) -> list[str]:
        return sorted([*self._exact, *self._wildcards])

    def __len__(self) -> int:
        return len(self._by_id)

    def matching(self, channel: str) -> list[Subscription]:
        found = list(self._exact.get(channel, {}).values())
        if self._wildcards:
            parts = channel.split(".")
            for subs in self._wildcards.values():
                pattern_segments = next(iter(subs.values())).segments
                if pattern_segments is not None and matches(pattern_segments, parts):
                    found.extend(subs.values())
        return found

    def deliver(self, messages: list[dict[str, Any]], location: str) -> list[dict[str, Any]] | Deferred[list[dict[str, Any]]]:
        """
        Offer each message, in order, to its subscriptions; return one
        C{{"results": [...], "errors": [...]}} per message.
        """
        offered = [[sub.offer(envelope, location) for sub in self.matching(envelope["channel"])]
                   for envelope in messages]
        if not any(isinstance(entry, Deferred) for entries in offered for entry in entries):
            return [_outcome(entries) for entries in offered]  # type: ignore[arg-type]
        waits = [gatherResults([e if isinstance(e, Deferred) else succeed(e) for e in entries])
                 for entries in offered]
        return gatherResults(waits).addCallback(lambda done: [_outcome(entries) for entries in done])


def _outcome(entries: list[Entry | None]) -> dict[str, Any]:
    results: list[Entry] = []
    errors: list[Entry] = []
    for entry in entries:
        if entry is None:
            continue
        (errors if "error" in entry else results).append(entry)
    return {"results": results, "errors": errors}
