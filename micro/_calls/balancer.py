# -*- test-case-name: tests.calls.test_balancer -*-
"""
Which instance a caller sends its next call to.
"""

from __future__ import annotations

from typing import Any, Container

from attrs import define, field


@define
class RoundRobin:
    """
    Per-service round-robin in registration order, skipping instances the
    caller found unreachable ("suspects") while any other one is left.

    A suspect stays one until the registry's table touches it (it is
    evicted, or registered again) or until C{suspect_for} seconds pass, the
    time within which the registry evicts an instance that really died.
    """

    _clock: Any
    suspect_for: float = 5.0
    _next: dict[str, int] = field(factory=dict)
    _suspects: dict[str, float] = field(factory=dict)

    def pick(self, service: str, locations: list[str], exclude: Container[str] = ()) -> str | None:
        """
        The next location for C{service}, or C{None} if all are excluded.
        """
        count = len(locations)
        if count == 0:
            return None
        start = self._next.get(service, 0)
        if not self._suspects and not exclude:
            self._next[service] = start + 1
            return locations[start % count]
        fallback = None
        for step in range(count):
            location = locations[(start + step) % count]
            if location in exclude:
                continue
            if self.is_suspect(location):
                fallback = fallback or location
                continue
            self._next[service] = start + step + 1
            return location
        return fallback

    def suspect(self, location: str) -> None:
        self._suspects[location] = self._clock.seconds() + self.suspect_for

    def is_suspect(self, location: str) -> bool:
        until = self._suspects.get(location)
        if until is None:
            return False
        if self._clock.seconds() >= until:
            del self._suspects[location]
            return False
        return True

    def confirmed(self, locations: list[str]) -> None:
        """
        The registry spoke about these locations: whatever we suspected is
        settled by its word.
        """
        for location in locations:
            self._suspects.pop(location, None)
