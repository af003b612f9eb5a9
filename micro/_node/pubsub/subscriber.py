# -*- test-case-name: tests.node.pubsub.test_subscriber -*-
"""
Pub/sub for one process: its registry subscriptions, the endpoint that
takes its deliveries, and its publishes.

The registry delivers only to registered instances (no open relay), so a
process that subscribes gets a small hidden instance of its own, the
service C{_micro.subscriber}, allocated and registered like any other.  It
takes deliveries at C{/_micro/deliver} and, called as a service, says what
the process subscribes to.  It lives on the node's lease: when the process
dies, it leaves the table and its subscriptions end with it.

All handlers of the process on one channel share one registry
subscription.  Subscribe and unsubscribe commands go to the registry one
at a time, so the registry's view never ends up behind the process's own.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred, DeferredLock, succeed
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.web.iweb import IRequest

from micro._kernel.channels import check_channel, check_pattern
from micro._kernel.deferreds import observe
from micro._kernel.errors import HttpError
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import DELIVERY_PATH
from micro._node.instance import ServiceInstance
from micro._node.node import NodeCore
from micro._node.pubsub.delivery import serve_delivery
from micro._node.pubsub.local import LocalSubscriptions, Subscription

SUBSCRIBER_SERVICE = "_micro.subscriber"
REJOIN_ATTEMPTS = 3
REJOIN_DELAY = 0.5


def new_subscription_id() -> str:
    return f"sub-{secrets.token_hex(8)}"


@define(eq=False)
class NodePubSub:
    """
    The pub/sub state of a L{NodeCore}; reach it as C{node.pubsub}.
    """

    _node: NodeCore
    local: LocalSubscriptions = field(init=False)
    _endpoint: ServiceInstance | None = field(default=None, init=False)
    _creating: Deferred[ServiceInstance] | None = field(default=None, init=False)
    _lock: DeferredLock = field(factory=DeferredLock, init=False)
    _seq: int = field(default=0, init=False)
    _hooked: bool = field(default=False, init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self.local = LocalSubscriptions(self._node)
        self._node.endpoints[DELIVERY_PATH.encode("ascii")] = self.serve

    @property
    def endpoint(self) -> ServiceInstance | None:
        return self._endpoint

    # -- subscribing ------------------------------------------------------

    def subscribe(self, channel: str, handler: Callable[..., Any]) -> Deferred[str]:
        """
        Run C{handler(message)} or C{handler(message, ctx)} for every message
        published to C{channel} from now on; fires with the subscription id.

        @raise TypeError: C{channel} is not a string or C{handler} is not callable.
        @raise ValueError: C{channel} is not a valid channel or pattern.
        """
        check_pattern(channel)
        if not callable(handler):
            raise TypeError(f"a subscription handler must be callable, not {type(handler).__name__}")
        sub = self.local.add(new_subscription_id(), channel, handler)
        return Deferred.fromCoroutine(self._subscribe(sub))

    async def _subscribe(self, sub: Subscription) -> str:
        try:
            endpoint = await self._ensure_endpoint()
            reply = await self._lock.run(self._registry_subscribe, sub.pattern, endpoint)
        except BaseException:
            self.local.remove(sub.id)
            raise
        sub.confirm(reply["epoch"], reply["after"])
        return sub.id

    def _registry_subscribe(self, pattern: str, endpoint: ServiceInstance) -> Deferred[dict[str, Any]]:
        node = self._node
        return node.registry_client.subscribe(pattern, endpoint.location, node.id)

    def unsubscribe(self, sub_id: str) -> Deferred[None]:
        """
        End subscription C{sub_id}: its handler runs no more, at once.

        @raise ValueError: No subscription C{sub_id} is held here.
        """
        sub = self.local.remove(sub_id) if isinstance(sub_id, str) else None
        if sub is None:
            raise ValueError(f"no subscription {sub_id!r} here")
        return self._lock.run(self._release, sub.pattern)

    async def _release(self, pattern: str) -> None:
        endpoint = self._endpoint
        if self.local.count(pattern) or endpoint is None:
            return
        try:
            await self._node.registry_client.unsubscribe(pattern, endpoint.location)
        except HttpError as e:
            # Locally the handlers are gone already; the registry forgets
            # the subscription with the endpoint if it cannot be told now.
            if e.status != 404:
                self._log.warn("could not unsubscribe {channel} at the registry: {error}", channel=pattern, error=e)

    async def release_endpoint(self) -> None:
        """
        Stop the endpoint if no subscription is left (nor on its way).
        """
        endpoint = self._endpoint
        if endpoint is None or len(self.local) or (self._creating is not None and not self._creating.called):
            return
        self._endpoint = None
        await endpoint.terminate()

    # -- publishing -------------------------------------------------------

    def publish(self, channel: str, message: Any, *, timeout: float | None = None,
                propagation: Propagation | None = None) -> Deferred[dict[str, Any]]:
        """
        Publish C{message} to the subscribers of C{channel}; fires with
        C{{"results": [...], "errors": [...]}} once each has answered or
        its delivery timed out (C{timeout} seconds, default 5).  The
        message carries C{propagation} (a new request id if C{None}).

        @raise TypeError: C{channel} is not a string, or C{message} is not JSON.
        @raise ValueError: C{channel} is empty, malformed or has a wildcard.
        """
        check_channel(channel)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or not 0 < timeout <= 60):
            raise ValueError(f"timeout must be a number of seconds above 0 and at most 60, not {timeout!r}")
        node = self._node
        node.start()  # a watching node is known to the registry, which then keeps its publishes in order
        self._seq += 1
        propagation = propagation or Propagation.new()
        watch = None if node.observer is None else node.observer.publishing(channel, propagation)
        try:
            d = node.registry_client.publish(channel, message, publisher=node.id, seq=self._seq, timeout=timeout,
                                             propagation=propagation if watch is None else watch.propagation)
            return d if watch is None else d.addBoth(watch.done)
        except TypeError as e:
            if watch is not None:
                watch.done(e)
            self._seq -= 1
            raise TypeError(f"message for channel {channel!r} is {e}") from None

    # -- the endpoint -----------------------------------------------------

    def serve(self, request: IRequest, instance: ServiceInstance) -> Any:
        """
        Answer a delivery to C{instance}, one of this process's.
        """
        return serve_delivery(request, self.local, instance.location, self._node.settings.token)

    def _ensure_endpoint(self) -> Deferred[ServiceInstance]:
        endpoint = self._endpoint
        if endpoint is not None and not endpoint.draining:
            return succeed(endpoint)
        if self._creating is None or self._creating.called:
            self._creating = Deferred.fromCoroutine(self._create_endpoint())
        return observe(self._creating)

    async def _create_endpoint(self) -> ServiceInstance:
        instance = await self._node.create_service(self._describe, SUBSCRIBER_SERVICE)
        self._endpoint = instance
        if not self._hooked:
            self._hooked = True
            self._node.on_rejoin(lambda: Deferred.fromCoroutine(self._rejoin()))
        return instance

    def _describe(self, payload: Any) -> dict[str, Any]:
        return {"node": self._node.id, "channels": self.local.patterns(), "subscriptions": len(self.local)}

    async def _rejoin(self) -> None:
        """
        The registry lost this process (it restarted): register the
        endpoint and every channel again.
        """
        for attempt in range(REJOIN_ATTEMPTS):
            endpoint = self._endpoint
            if endpoint is None or endpoint.draining:
                return
            try:
                await self._node.registry_client.register(SUBSCRIBER_SERVICE, endpoint.location, self._node.id)
                for pattern in self.local.patterns():
                    await self._lock.run(self._registry_subscribe, pattern, endpoint)
                return
            except HttpError as e:
                self._log.warn("subscribing again failed ({attempt}): {error}", attempt=attempt + 1, error=e)
                if attempt + 1 < REJOIN_ATTEMPTS:
                    await deferLater(self._node.reactor, REJOIN_DELAY)

