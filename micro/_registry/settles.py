# -*- test-case-name: tests.registry.test_leases -*-
"""
The C{settle} command: waiting until every watching node holds a version.

Nodes watching this registry acknowledge versions on their next watch;
those watching other registries of a shared store are asked of the store,
every L{SETTLE_POLL} seconds, while the wait lasts.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import deferLater

from micro._registry.state import RegistryState
from micro._registry.store.interface import ClusterStore

# Seconds between two looks at the other registries' watchers.
SETTLE_POLL = 0.05

Outcome = dict[str, Any]


@define
class _Wait:
    version: int
    deferred: Deferred[Outcome]
    timer: Any
    lagging: set[str]


@define
class Settles:
    """
    The settles waiting at one registry.
    """

    _state: RegistryState
    _clock: Any
    store: ClusterStore | None = None
    _waits: list[_Wait] = field(factory=list, init=False)
    _stopped: bool = field(default=False, init=False)

    def __bool__(self) -> bool:
        return bool(self._waits)

    def settle(self, version: int, timeout: float, lagging: set[str]) -> Deferred[Outcome]:
        """
        Fire once the nodes in C{lagging} (those watching here, behind
        C{version}) and those of other registries hold C{version}, or after
        C{timeout} seconds.
        """
        here = self._here(version, timeout, lagging)
        if self.store is None:
            return here
        return Deferred.fromCoroutine(self._elsewhere(here, version, self._clock.seconds() + timeout))

    def acknowledged(self, node_id: str, version: int | None) -> None:
        """
        Node C{node_id} holds C{version} now (C{None}: it is gone); fire the
        settles that waited for nobody else.
        """
        settled = []
        for wait in self._waits:
            if node_id in wait.lagging and (version is None or version >= wait.version):
                wait.lagging.discard(node_id)
                if not wait.lagging:
                    settled.append(wait)
        if not settled:
            return
        self._waits = [wait for wait in self._waits if wait.lagging]
        for wait in settled:
            wait.timer.cancel()
            wait.deferred.callback({"settled": True, "lagging": 0})

    def stop(self) -> None:
        self._stopped = True
        waits, self._waits = self._waits, []
        for wait in waits:
            wait.timer.cancel()
            wait.deferred.callback({"settled": False, "lagging": len(wait.lagging)})

    def _here(self, version: int, timeout: float, lagging: set[str]) -> Deferred[Outcome]:
        if not lagging:
            return succeed({"settled": True, "lagging": 0})
        d: Deferred[Outcome] = Deferred()
        wait = _Wait(version, d, None, lagging)
        wait.timer = self._clock.callLater(timeout, self._timed_out, wait)
        self._waits.append(wait)
        return d

    async def _elsewhere(self, here: Deferred[Outcome], version: int, deadline: float) -> Outcome:
        local = await here
        assert self.store is not None
        while True:
            lagging = await self.store.lagging_elsewhere(version, self._state)
            if not lagging:
                return local
            if self._clock.seconds() >= deadline or self._stopped:
                return {"settled": False, "lagging": local["lagging"] + lagging}
            await deferLater(self._clock, SETTLE_POLL)

    def _timed_out(self, wait: _Wait) -> None:
        self._waits.remove(wait)
        wait.deferred.callback({"settled": False, "lagging": len(wait.lagging)})
