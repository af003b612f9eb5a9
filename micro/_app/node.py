# -*- test-case-name: tests.node.test_node -*-
"""
L{Node}: a node with its features, as users meet it.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define
from twisted.internet.defer import Deferred, succeed

from micro._kernel.propagation import Propagation
from micro._kernel.route_paths import DYNAMIC
from micro._node.cache.service import EVICTION_INTERVAL, EXPIRE_TIME, CacheService, start_cache_service
from micro._node.node import NodeCore
from micro._node.pubsub.service import PubSubService
from micro._node.pubsub.subscriber import NodePubSub
from micro._node.routes.declared import NodeRoutes, Route


@define(eq=False, repr=False)  # NodeCore.__repr__: one line
class Node(NodeCore):
    """
    Everything one process needs to take part in a cluster: it follows the
    registry's table, hosts services, calls them directly (in-process when
    the chosen instance lives here), declares routes, publishes and
    subscribes, and may host the cache.

    Build one with L{Node.create}; most programs use the process's default
    node through L{micro.create_service} and L{micro.call_service}.
    """

    @property
    def pubsub(self) -> NodePubSub:
        """
        This process's pub/sub: its subscriptions, deliveries and publishes.
        """
        return self.feature(NodePubSub)

    def create_pubsub_service(self) -> Deferred[PubSubService]:
        return succeed(PubSubService(self.pubsub))

    def publish(self, channel: str, message: Any, *, timeout: float | None = None,
                propagation: Propagation | None = None) -> Deferred[dict[str, Any]]:
        return self.pubsub.publish(channel, message, timeout=timeout, propagation=propagation)

    def cache_service(self, expire_time: float | None = EXPIRE_TIME, eviction_interval: float | None = EVICTION_INTERVAL,
                      *, max_entries: int | None = None, name: str = "cache") -> Deferred[CacheService]:
        return Deferred.fromCoroutine(start_cache_service(self, expire_time, eviction_interval, max_entries, name))

    async def create_route(self, path: str, target: Callable[..., Any] | str, data_type: str = DYNAMIC) -> Route:
        """
        Route HTTP requests on C{path} at the registry to a service: the one
        C{target} names, or one made of the function C{target}.  See
        L{NodeRoutes.create}.
        """
        return await self.feature(NodeRoutes).create(path, target, data_type)
