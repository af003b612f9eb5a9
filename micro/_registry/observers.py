# -*- test-case-name: tests.registry.test_read_commands -*-
"""
Read-only watches: following the table without being part of the cluster.

    {"changes": {"epoch": "...", "version": 12}}

answers like a node's C{watch} (the changes after C{version}, or the whole
table when C{epoch} is not the registry's or the changes are no longer
kept; after the hold with none), but renews no lease and creates no node:
a tool that watches (C{micro watch}, a dashboard) is not a member, and
leaving does not evict anything.  It needs no token: it only reads.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred, succeed

from micro._registry.state import RegistryState
from micro._registry.watch_replies import WatchReplies


@define(eq=False)
class _Observer:
    version: int
    deferred: Deferred[bytes]
    timer: Any = None


@define
class ChangeObservers:
    """
    The pending read-only watches, answered on the next reactor turn after
    a change (so that a burst of changes makes one answer), or after
    C{hold} seconds with no change.
    """

    _state: RegistryState
    _replies: WatchReplies
    _clock: Any
    hold: float
    _waiting: list[_Observer] = field(factory=list, init=False)
    _flush_call: Any = field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        self._state.on_change(self._changed)

    def observe(self, epoch: str, version: int) -> Deferred[bytes]:
        """
        The changes after C{version} of C{epoch}: at once if there are some,
        else when they come, or none after the hold.
        """
        state = self._state
        if epoch != state.epoch or not 0 <= version <= state.version:
            return succeed(self._replies.full(True))
        if version < state.version:
            return succeed(self._replies.since(version))
        observer = _Observer(version, Deferred(lambda d: self._drop(observer)))
        observer.timer = self._clock.callLater(self.hold, self._answer, observer)
        self._waiting.append(observer)
        return observer.deferred

    def waiting(self) -> int:
        return len(self._waiting)

    def stop(self) -> None:
        """
        Answer every pending watch and cancel every timer.
        """
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        for observer in list(self._waiting):
            self._answer(observer)

    def _changed(self) -> None:
        if self._waiting and self._flush_call is None:
            self._flush_call = self._clock.callLater(0, self._flush)

    def _flush(self) -> None:
        self._flush_call = None
        for observer in list(self._waiting):
            self._answer(observer)

    def _answer(self, observer: _Observer) -> None:
        self._drop(observer)
        if not observer.deferred.called:
            observer.deferred.callback(self._replies.since(observer.version))

    def _drop(self, observer: _Observer) -> None:
        if observer in self._waiting:
            self._waiting.remove(observer)
        if observer.timer is not None and observer.timer.active():
            observer.timer.cancel()
