# -*- test-case-name: tests.registry.test_leases -*-
"""
Leases kept in this process: one timer per node, reset by every renewal.

This is how a registry with the in-memory store keeps leases.  With a
shared store (Redis) the deadlines live in the store instead, and the
store's own keeper replaces this one (L{Leases} is what both offer).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from attrs import define, field


class Leases(Protocol):
    """
    Where the deadlines of nodes' leases are kept.
    """

    def renew(self, node: str) -> None:
        """
        The node watched or heartbeat here: its lease runs C{ttl} from now.
        """

    def claimed(self, node: str) -> None:
        """
        The node registered something through this registry's store.
        """

    def extend(self, node: str, seconds: float) -> None:
        """
        Make the node's lease last at least C{seconds} from now.
        """

    def forget(self, node: str) -> None:
        """
        The node is gone: drop its deadline.
        """

    def deadline(self, node: str) -> float | None:
        """
        When the node's lease ends, on this registry's clock, if it is kept here.
        """

    def stop(self) -> None:
        """
        Cancel every timer.
        """


@define
class LocalLeases:
    """
    A timer per node that calls C{expire(node)} unless it is renewed.
    """

    _clock: Any
    ttl: float
    _expire: Callable[[str], None]
    _timers: dict[str, Any] = field(factory=dict, init=False)

    def renew(self, node: str) -> None:
        timer = self._timers.get(node)
        if timer is not None and timer.active():
            timer.reset(self.ttl)
        else:
            self._timers[node] = self._clock.callLater(self.ttl, self._expired, node)

    def claimed(self, node: str) -> None:
        self.renew(node)

    def extend(self, node: str, seconds: float) -> None:
        """
        The registry just answered the node's watch, and the node needs
        that long to watch again, however late the answer was.
        """
        timer = self._timers.get(node)
        if timer is None or not timer.active():
            return
        if timer.getTime() < self._clock.seconds() + seconds:
            timer.reset(seconds)

    def deadline(self, node: str) -> float | None:
        timer = self._timers.get(node)
        return float(timer.getTime()) if timer is not None and timer.active() else None

    def forget(self, node: str) -> None:
        timer = self._timers.pop(node, None)
        if timer is not None and timer.active():
            timer.cancel()

    def stop(self) -> None:
        timers, self._timers = self._timers, {}
        for timer in timers.values():
            if timer.active():
                timer.cancel()

    def _expired(self, node: str) -> None:
        self._timers.pop(node, None)
        self._expire(node)
