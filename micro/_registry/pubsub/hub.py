# -*- test-case-name: tests.registry.pubsub.test_hub -*-
"""
The registry's side of pub/sub: which processes subscribe to what, and
the parallel fan-out of each published message.

A subscription is held by a subscriber I{location}: a live, registered
instance of the subscribing node, which takes deliveries at
C{/_micro/deliver}.  The registry never delivers anywhere else (no open
relay), and a subscription ends when its instance leaves the table, by
unregistering or with its node's lease.  Several handlers in one process
share one subscription per channel: the process fans out to them.

Publishing posts the message to the L{Outbox} of every matching location
at once; the reply gathers their outcomes.  A message carries the feed
position of the view it was fanned out from (C{seq}): a subscription
answers with the position just before its own change (C{after}), so a
node hands a new handler only messages fanned out by a registry that knew
of the subscription, whichever registry that was.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.logger import Logger

from micro._http.client import HttpClient
from micro._kernel.channels import is_wildcard, matches, segments
from micro._kernel.codec import dumps
from micro._kernel.errors import HttpError
from micro._kernel.observer import Observer
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import DELIVERY_TIMEOUT
from micro._registry.pubsub.order import PublisherOrder
from micro._registry.pubsub.outbox import Outbox, Outcome, delivery_headers
from micro._registry.state import RegistryState
from micro._registry.store.replica import Replica, SnapshotPart


@define(eq=False)
class PubSubHub:
    """
    Subscriptions by channel and by location, and one outbox per location.

    Subscriptions change through the store (the C{sub+} and C{sub-}
    changes), so that every registry's hub holds the same ones.

    @ivar observer: Told of every delivery's outcome, if set.
    """

    _state: RegistryState
    _http: HttpClient
    _clock: Any
    token: str | None = None
    default_timeout: float = DELIVERY_TIMEOUT
    observer: Observer | None = None
    _exact: dict[str, dict[str, str]] = field(factory=dict, init=False)
    _wildcards: dict[str, tuple[tuple[str, ...], dict[str, str]]] = field(factory=dict, init=False)
    _by_location: dict[str, set[str]] = field(factory=dict, init=False)
    _outboxes: dict[str, Outbox] = field(factory=dict, init=False)
    _order: PublisherOrder = field(init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self._order = PublisherOrder(self._clock)
        self._state.on_change(self._table_changed)
        self._state.on_evict(self._node_evicted)
        self._state.on_reset(self._forget_all)

    def install(self, replica: Replica) -> None:
        """
        Let C{replica} apply subscription changes and snapshots.
        """
        replica.on("sub+", lambda e: self.subscribe(e["pattern"], e["location"], e["node"]))
        replica.on("sub-", lambda e: self.unsubscribe(e["pattern"], e["location"]))
        replica.part("subscriptions", SnapshotPart(self._dump, self._load))

    # -- subscriptions ----------------------------------------------------

    def subscribe(self, pattern: str, location: str, node: str) -> dict[str, Any]:
        """
        Subscribe the instance at C{location}, which must be a live
        instance of C{node}; repeating a subscription changes nothing.
        """
        instance = self._state.instance_at(location)
        if instance is None or instance.node != node:
            raise HttpError(400, f"cannot subscribe {location}: it is not a registered instance of node {node!r}; "
                                 "subscriptions deliver only to the subscriber's own registered instances")
        holders = self._holders(pattern, create=True)
        assert holders is not None
        if location not in holders:
            holders[location] = node
            self._by_location.setdefault(location, set()).add(pattern)
            self._log.info("{location} subscribed to {channel}", location=location, channel=pattern)
        # Applied before the feed moves on: the position is the one before this change.
        return {"subscribed": pattern, "location": location, "epoch": self._state.epoch, "after": self._state.position}

    def unsubscribe(self, pattern: str, location: str) -> dict[str, Any]:
        holders = self._holders(pattern, create=False)
        if holders is None or location not in holders:
            raise HttpError(404, f"{location} has no subscription to channel {pattern!r}")
        self._remove(pattern, location)
        self._log.info("{location} unsubscribed from {channel}", location=location, channel=pattern)
        return {"unsubscribed": pattern, "location": location}

    def subscribers(self, channel: str) -> list[str]:
        """
        The locations a message on C{channel} goes to, each once.
        """
        found = dict.fromkeys(self._exact.get(channel, ()))
        if self._wildcards:
            parts = channel.split(".")
            for pattern_segments, holders in self._wildcards.values():
                if matches(pattern_segments, parts):
                    found.update(dict.fromkeys(holders))
        return list(found)

    def channels(self) -> dict[str, list[str]]:
        """
        Every subscribed channel or pattern and its locations.
        """
        table = {pattern: list(holders) for pattern, holders in self._exact.items()}
        table.update((pattern, list(holders)) for pattern, (_, holders) in self._wildcards.items())
        return table

    def drop_location(self, location: str) -> None:
        """
        End every subscription of C{location}.
        """
        for pattern in list(self._by_location.get(location, ())):
            self._remove(pattern, location)

    # -- publishing -------------------------------------------------------

    def publish(self, channel: str, message: Any, *, timeout: float | None = None,
                publisher: str | None = None, seq: int | None = None,
                propagation: Propagation | None = None) -> Deferred[Outcome]:
        """
        Deliver C{message} to every subscriber of C{channel} in parallel,
        carrying C{propagation} (a new one if C{None}) in its envelope.

        With C{publisher} (a node id) and C{seq}, messages of one
        publisher go out in its numbering order.
        """
        timeout = self.default_timeout if timeout is None else timeout
        carried = (propagation or Propagation.new()).text_headers()
        if publisher is None or seq is None or self._state.node(publisher) is None:
            return self._fan_out(channel, message, timeout, carried)
        result: Deferred[Outcome] = Deferred()

        def release() -> None:
            self._fan_out(channel, message, timeout, carried).chainDeferred(result)

        self._order.admit(publisher, seq, release)
        return result

    def _fan_out(self, channel: str, message: Any, timeout: float, carried: dict[str, str]) -> Deferred[Outcome]:
        locations = self.subscribers(channel)
        if not locations:
            return succeed({"results": [], "errors": []})
        state = self._state
        body = dumps({"channel": channel, "message": message, "seq": state.position, "epoch": state.epoch,
                      "headers": carried})
        deliveries = [self._outbox(location).post(body, timeout) for location in locations]
        if self.observer is not None:
            deliveries = [d.addCallback(self.observer.delivery(channel)) for d in deliveries]
        return gatherResults(deliveries).addCallback(_merge)

    def stop(self) -> None:
        """
        Let held publishes go, answer every waiting delivery, cancel timers.
        """
        self._order.stop()
        for outbox in self._outboxes.values():
            outbox.close()
        self._outboxes.clear()

    # -- internals --------------------------------------------------------

    def _holders(self, pattern: str, *, create: bool) -> dict[str, str] | None:
        if is_wildcard(pattern):
            entry = self._wildcards.get(pattern)
            if entry is None and create:
                entry = self._wildcards[pattern] = (segments(pattern), {})
            return None if entry is None else entry[1]
        holders = self._exact.get(pattern)
        if holders is None and create:
            holders = self._exact[pattern] = {}
        return holders

    def _remove(self, pattern: str, location: str) -> None:
        holders = self._holders(pattern, create=False)
        if holders is not None:
            holders.pop(location, None)
            if not holders:
                self._exact.pop(pattern, None)
                self._wildcards.pop(pattern, None)
        patterns = self._by_location.get(location)
        if patterns is not None:
            patterns.discard(pattern)
            if not patterns:
                del self._by_location[location]
                outbox = self._outboxes.get(location)
                if outbox is not None and outbox.idle:
                    del self._outboxes[location]

    def _outbox(self, location: str) -> Outbox:
        outbox = self._outboxes.get(location)
        if outbox is None:
            outbox = self._outboxes[location] = Outbox(location, self._http, self._clock,
                                                       delivery_headers(self.token))
        return outbox

    def _table_changed(self) -> None:
        """
        Subscriptions die with their instance: drop those whose location
        left the table (or moved to another node).
        """
        registry = self._state
        for location in list(self._by_location):
            instance = registry.instance_at(location)
            holders_node = self._node_of(location)
            if instance is None or instance.node != holders_node:
                self._log.info("subscriptions of {location} ended: it left the table", location=location)
                self.drop_location(location)
        for location in [loc for loc, box in self._outboxes.items() if box.idle and loc not in self._by_location]:
            del self._outboxes[location]

    def _node_of(self, location: str) -> str | None:
        for pattern in self._by_location.get(location, ()):
            holders = self._holders(pattern, create=False)
            if holders and location in holders:
                return holders[location]
        return None

    def _dump(self) -> list[list[str]]:
        return [[pattern, location, node] for pattern, holders in self.channels_with_nodes().items()
                for location, node in holders.items()]

    def _load(self, rows: list[list[str]]) -> None:
        self._forget_all()
        for pattern, location, node in rows:
            holders = self._holders(pattern, create=True)
            assert holders is not None
            holders[location] = node
            self._by_location.setdefault(location, set()).add(pattern)
            self._state.ensure_node(node)

    def _forget_all(self) -> None:
        self._exact.clear()
        self._wildcards.clear()
        self._by_location.clear()

    def channels_with_nodes(self) -> dict[str, dict[str, str]]:
        """
        Every subscribed channel or pattern, its locations and their nodes.
        """
        table = {pattern: dict(holders) for pattern, holders in self._exact.items()}
        table.update((pattern, dict(holders)) for pattern, (_, holders) in self._wildcards.items())
        return table

    def _node_evicted(self, node_id: str) -> None:
        self._order.forget(node_id)
        self._table_changed()


def _merge(outcomes: list[Outcome]) -> Outcome:
    if len(outcomes) == 1:
        return outcomes[0]
    results: list[Any] = []
    errors: list[Any] = []
    for outcome in outcomes:
        results.extend(outcome["results"])
        errors.extend(outcome["errors"])
    return {"results": results, "errors": errors}
