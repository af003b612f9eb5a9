# -*- test-case-name: tests.node.cache.test_store -*-
"""
The cache's memory: values by key, with optional expiry times and an
optional bound on the number of keys.

Time comes from the injected clock, in seconds.  An expired key is dead
at once: reads never return it, whether or not eviction has run yet.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator

from attrs import define, field


@define
class TtlStore:
    """
    Keys in least-recently-used order, each maybe with an expiry time.

    @ivar max_entries: At most this many keys (the least recently used
        goes first), or C{None} for no bound.
    """

    _clock: Any
    max_entries: int | None = None
    _values: OrderedDict[str, Any] = field(factory=OrderedDict, init=False)
    _expires: dict[str, float] = field(factory=dict, init=False)

    def __len__(self) -> int:
        return len(self._values)

    def _live(self, key: str, now: float) -> bool:
        expires = self._expires.get(key)
        if expires is not None and expires <= now:
            self._drop(key)
            return False
        return key in self._values

    def get(self, key: str, default: Any = None) -> Any:
        """
        The value of C{key}, or C{default} if it is missing or expired; a
        hit makes the key the most recently used.
        """
        if not self._live(key, self._clock.seconds()):
            return default
        self._values.move_to_end(key)
        return self._values[key]

    def __contains__(self, key: str) -> bool:
        return self._live(key, self._clock.seconds())

    def items(self) -> Iterator[tuple[str, Any]]:
        """
        Every live key and value, least recently used first.
        """
        now = self._clock.seconds()
        for key in list(self._values):
            if self._live(key, now):
                yield key, self._values[key]

    def expires_at(self, key: str) -> float | None:
        return self._expires.get(key) if key in self else None

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """
        Store C{value}, expiring in C{ttl} seconds, or never for C{None}.
        """
        self._values[key] = value
        self._values.move_to_end(key)
        if ttl is None:
            self._expires.pop(key, None)
        else:
            self._expires[key] = self._clock.seconds() + ttl
        self.bound()

    def expire(self, key: str, ttl: float | None) -> bool:
        """
        Make a live key expire in C{ttl} seconds (never, for C{None}).

        @return: Whether the key was there.
        """
        if key not in self:
            return False
        if ttl is None:
            self._expires.pop(key, None)
        else:
            self._expires[key] = self._clock.seconds() + ttl
        return True

    def delete(self, key: str) -> bool:
        live = key in self
        self._drop(key)
        return live

    def clear(self) -> int:
        """
        Forget everything; return how many live keys there were.
        """
        count = sum(1 for _ in self.items())
        self._values.clear()
        self._expires.clear()
        return count

    def evict_expired(self) -> int:
        """
        Drop every expired key; return how many.
        """
        now = self._clock.seconds()
        dead = [key for key, expires in self._expires.items() if expires <= now]
        for key in dead:
            self._drop(key)
        return len(dead)

    def bound(self) -> int:
        """
        Enforce C{max_entries}, dropping the least recently used keys;
        return how many were dropped.
        """
        if self.max_entries is None:
            return 0
        dropped = 0
        while len(self._values) > self.max_entries:
            key = next(iter(self._values))
            self._drop(key)
            dropped += 1
        return dropped

    def _drop(self, key: str) -> None:
        self._values.pop(key, None)
        self._expires.pop(key, None)
