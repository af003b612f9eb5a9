# -*- test-case-name: tests.integration.test_redis_store -*-
"""
Leases in Redis: deadlines in a sorted set, by Redis's own clock, so that
registries with skewed clocks agree.

Renewals are gathered for L{FLUSH_INTERVAL} and sent in one script call,
which also records that this registry holds the node's watch: 10,000
watching nodes cost a few calls a second, not 10,000.  A renewal that
could not be sent is sent with the next ones.  Expiry is the reaper's
work (the C{beat} of any registry), never a timer here.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.logger import Logger

from micro._registry.store.redis_link import RedisLink

FLUSH_INTERVAL = 0.1
# Per call: a few thousand arguments at most.
FLUSH_BATCH = 2000


@define
class RedisLeases:
    """
    The lease renewals of the nodes watching this registry, on their way to Redis.
    """

    _link: RedisLink
    _clock: Any
    ttl: float
    registry_id: str
    _epoch: Callable[[], str]
    _pending: dict[str, int] = field(factory=dict, init=False)
    _flush: Any = field(default=None, init=False)
    _sending: bool = field(default=False, init=False)
    _stopped: bool = field(default=False, init=False)

    _log = Logger()

    def renew(self, node: str) -> None:
        self._add(node, self.ttl)

    def claimed(self, node: str) -> None:
        """
        The store's script renewed the lease already.
        """

    def extend(self, node: str, seconds: float) -> None:
        self._add(node, seconds)

    def forget(self, node: str) -> None:
        self._pending.pop(node, None)

    def deadline(self, node: str) -> float | None:
        """
        Kept in Redis (by Redis's clock), not here.
        """
        return None

    def stop(self) -> None:
        self._stopped = True
        if self._flush is not None and self._flush.active():
            self._flush.cancel()
        self._flush = None

    def _add(self, node: str, seconds: float) -> None:
        ms = int(seconds * 1000)
        if self._pending.get(node, 0) < ms:
            self._pending[node] = ms
        if self._flush is None and not self._stopped:
            self._flush = self._clock.callLater(FLUSH_INTERVAL, self._send)

    def _send(self) -> None:
        if self._flush is not None and self._flush.active():
            self._flush.cancel()  # called directly: the timer would only send again
        self._flush = None
        if self._sending or not self._pending:
            return
        batch = dict(list(self._pending.items())[:FLUSH_BATCH])
        for node in batch:
            del self._pending[node]
        args: list[Any] = []
        for node, ms in batch.items():
            args += [node, ms]
        self._sending = True
        d: Deferred[Any] = self._link.script("renew", self._epoch(), self.registry_id, *args)
        d.addCallbacks(self._sent, self._failed, errbackArgs=(batch,))

    def _sent(self, reply: Any) -> None:
        self._sending = False
        if self._pending and not self._stopped:
            self._send()

    def _failed(self, failure: Any, batch: dict[str, int]) -> None:
        self._sending = False
        for node, ms in batch.items():
            if self._pending.get(node, 0) < ms:
                self._pending[node] = ms
        self._log.info("renewing {count} leases failed, trying again: {error}", count=len(batch),
                       error=failure.getErrorMessage())
        if self._flush is None and not self._stopped:
            self._flush = self._clock.callLater(FLUSH_INTERVAL * 5, self._send)
