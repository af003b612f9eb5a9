# -*- test-case-name: tests.node.pubsub.test_subscriber -*-
"""
The object C{create_pubsub_service()} returns.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred, gatherResults, succeed

from micro._node.pubsub.subscriber import NodePubSub


@define(eq=False)
class PubSubService:
    """
    Subscribe handlers to channels, publish to them, and drop every
    subscription made here on L{terminate}.

    Handlers are C{handler(message)} or C{handler(message, ctx)}, plain,
    C{async def} or returning a Deferred; C{ctx.channel} is the channel of
    the message, and C{ctx.call} / C{ctx.publish} reach other services.
    Bad arguments raise at once: C{TypeError} for a wrong type, C{ValueError}
    for a bad channel or an unknown subscription id.
    """

    _pubsub: NodePubSub
    _subscriptions: dict[str, str] = field(factory=dict, init=False)
    _terminated: bool = field(default=False, init=False)

    def __repr__(self) -> str:
        state = ", terminated" if self._terminated else ""
        return f"PubSubService({len(self._subscriptions)} subscriptions{state})"

    def subscribe(self, channel: str, handler: Callable[..., Any]) -> Deferred[str]:
        """
        Run C{handler} for each message published to C{channel} from now
        on (C{"orders.*"}: any one segment in place of C{*}); fires with the
        subscription id once the registry holds the subscription.
        """
        self._check_open()
        d = self._pubsub.subscribe(channel, handler)
        return d.addCallback(self._remember, channel)

    def _remember(self, sub_id: str, channel: str) -> str:
        self._subscriptions[sub_id] = channel
        return sub_id

    def publish(self, channel: str, message: Any, *, timeout: float | None = None) -> Deferred[dict[str, Any]]:
        """
        Send C{message} to every subscriber of C{channel}, in parallel;
        fires with C{{"results": [...], "errors": [...]}}, one entry per
        handler that ran (or per subscriber process that did not answer
        within C{timeout} seconds, default 5).
        """
        self._check_open()
        return self._pubsub.publish(channel, message, timeout=timeout)

    def unsubscribe(self, channel: str, sub_id: str) -> Deferred[None]:
        """
        End subscription C{sub_id} to C{channel}, made here.
        """
        if self._subscriptions.get(sub_id) != channel:
            raise ValueError(f"no subscription {sub_id!r} to channel {channel!r} was made here")
        del self._subscriptions[sub_id]
        return self._pubsub.unsubscribe(sub_id)

    def list_subscriptions(self) -> dict[str, list[str]]:
        """
        The subscriptions made here: channel to subscription ids.
        """
        listing: dict[str, list[str]] = {}
        for sub_id, channel in self._subscriptions.items():
            listing.setdefault(channel, []).append(sub_id)
        return listing

    def terminate(self) -> Deferred[None]:
        """
        End every subscription made here; once the process has none left,
        its delivery endpoint leaves the registry too.
        """
        self._terminated = True
        ids, self._subscriptions = list(self._subscriptions), {}
        work = [self._pubsub.unsubscribe(sub_id) for sub_id in ids]
        d: Deferred[Any] = gatherResults(work, consumeErrors=True) if work else succeed(None)
        return d.addCallback(lambda _: Deferred.fromCoroutine(self._pubsub.release_endpoint()))

    def _check_open(self) -> None:
        if self._terminated:
            raise ValueError("this pub/sub service was terminated; create another one")

