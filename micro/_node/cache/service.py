# -*- test-case-name: tests.node.cache.test_service -*-
"""
The built-in C{cache} service: a L{TtlStore} served as a service, with a
periodic eviction loop on the node's clock.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from micro._kernel.deferreds import Once
from micro._node.cache.commands import CacheCommands, check_settings
from micro._node.cache.store import TtlStore
from micro._node.instance import ServiceInstance
from micro._node.node import NodeCore

EXPIRE_TIME = 600_000
EVICTION_INTERVAL = 30_000
CACHE_SERVICE = "cache"


@define(eq=False)
class CacheService:
    """
    A running cache.

    @ivar store: The values themselves, for in-process use and tests.
    @ivar instance: The service instance that answers the commands.
    """

    store: TtlStore
    _clock: Any
    settings: dict[str, Any]
    commands: CacheCommands = field(init=False)
    instance: ServiceInstance | None = field(default=None, init=False)
    _loop: LoopingCall | None = field(default=None, init=False)
    _stopping: Once = field(factory=Once, init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self.commands = CacheCommands(self.store, self.settings, self.apply_settings)

    def __repr__(self) -> str:
        where = f"{self.instance.name!r} at {self.instance.location}" if self.instance is not None else "not started"
        return f"CacheService({where}, {len(self.store)} keys)"

    @property
    def name(self) -> str:
        assert self.instance is not None
        return self.instance.name

    @property
    def location(self) -> str:
        assert self.instance is not None
        return self.instance.location

    @property
    def evicting(self) -> bool:
        return self._loop is not None and self._loop.running

    def apply_settings(self, changes: dict[str, Any]) -> None:
        """
        Take validated setting changes into effect now: the store's bound,
        and an eviction loop restarted on the new interval.
        """
        self.settings.update(changes)
        self.store.max_entries = self.settings["max_entries"]
        self.store.bound()
        if not self._stopping.started:
            self._restart_eviction()

    def _restart_eviction(self) -> None:
        self.stop_eviction()
        interval = self.settings["eviction_interval"]
        if interval is None:
            return
        loop = LoopingCall(self._evict)
        loop.clock = self._clock
        self._loop = loop
        loop.start(interval / 1000.0, now=False).addErrback(
            lambda f: self._log.failure("cache eviction loop stopped", f))

    def stop_eviction(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None

    def _evict(self) -> None:
        count = self.store.evict_expired()
        if count:
            self._log.debug("evicted {count} expired keys", count=count)

    def terminate(self) -> Deferred[None]:
        """
        Stop the eviction loop and the service instance.  Safe to call
        more than once.
        """
        self.stop_eviction()
        return self._stopping(self._terminate)

    async def _terminate(self) -> None:
        if self.instance is not None:
            await self.instance.terminate()


def initial_settings(expire_time: Any, eviction_interval: Any, max_entries: Any) -> dict[str, Any]:
    """
    Checked settings for a new cache; C{ValueError} names a bad one.
    """
    return check_settings({"expire_time": expire_time, "eviction_interval": eviction_interval,
                           "max_entries": max_entries})


async def start_cache_service(node: NodeCore, expire_time: Any = EXPIRE_TIME, eviction_interval: Any = EVICTION_INTERVAL,
                              max_entries: int | None = None, name: str = CACHE_SERVICE) -> CacheService:
    """
    Host a cache as service C{name} on C{node}; see L{micro.Node.cache_service}.
    """
    settings = initial_settings(expire_time, eviction_interval, max_entries)
    cache = CacheService(TtlStore(node.reactor, settings["max_entries"]), node.reactor, settings)
    cache.instance = await node.create_service(cache.commands.run, name)
    cache.apply_settings({})
    node.on_terminate(cache.stop_eviction)
    return cache
