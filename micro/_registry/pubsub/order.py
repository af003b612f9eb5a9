# -*- test-case-name: tests.registry.pubsub.test_order -*-
"""
Putting each publisher's messages back in the order it published them.

A node numbers its publishes 1, 2, 3, ...  Publishes sent at the same time
travel over different connections and may reach the registry in any
order; L{PublisherOrder} holds one that arrives early until those before
it have arrived, or until C{gap_timeout} seconds pass (the missing one
was lost on the way: delivery is at most once), then lets it through.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field

GAP_TIMEOUT = 1.0
MAX_HELD = 1000

Release = Callable[[], None]


@define(eq=False)
class _Publisher:
    expected: int
    held: dict[int, Release] = field(factory=dict)
    timer: Any = None


@define(eq=False)
class PublisherOrder:
    """
    Per-publisher sequence numbers, and the publishes held back for a gap.
    """

    _clock: Any
    gap_timeout: float = GAP_TIMEOUT
    max_held: int = MAX_HELD
    _publishers: dict[str, _Publisher] = field(factory=dict, init=False)

    def admit(self, publisher: str, seq: int, release: Release) -> None:
        """
        Call C{release} when every earlier publish of C{publisher} has been
        released, or now if it is the next one, a late one, or the first
        heard from this publisher.
        """
        state = self._publishers.get(publisher)
        if state is None:
            self._publishers[publisher] = _Publisher(seq + 1)
            release()
            return
        if seq < state.expected or seq in state.held:
            release()  # late (its gap was given up on) or repeated: deliver as it comes
            return
        if seq > state.expected:
            state.held[seq] = release
            if len(state.held) > self.max_held:
                self._skip_gap(publisher)
            elif state.timer is None:
                state.timer = self._clock.callLater(self.gap_timeout, self._skip_gap, publisher)
            return
        state.expected = seq + 1
        release()
        self._release_ready(state)

    def forget(self, publisher: str) -> None:
        """
        The publisher is gone: let what it had waiting through, in order.
        """
        state = self._publishers.pop(publisher, None)
        if state is not None:
            self._flush(state)

    def stop(self) -> None:
        for publisher in list(self._publishers):
            self.forget(publisher)

    # -- internals --------------------------------------------------------

    def _release_ready(self, state: _Publisher) -> None:
        while state.expected in state.held:
            release = state.held.pop(state.expected)
            state.expected += 1
            release()
        if not state.held and state.timer is not None:
            if state.timer.active():
                state.timer.cancel()
            state.timer = None

    def _skip_gap(self, publisher: str) -> None:
        state = self._publishers.get(publisher)
        if state is None:
            return
        if state.timer is not None and state.timer.active():
            state.timer.cancel()
        state.timer = None
        if state.held:
            state.expected = min(state.held)
            self._release_ready(state)
        if state.held:
            state.timer = self._clock.callLater(self.gap_timeout, self._skip_gap, publisher)

    def _flush(self, state: _Publisher) -> None:
        if state.timer is not None and state.timer.active():
            state.timer.cancel()
        state.timer = None
        for seq in sorted(state.held):
            state.held.pop(seq)()
