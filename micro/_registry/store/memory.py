# -*- test-case-name: tests.registry.store.test_contract -*-
"""
The state kept in this process: the default store.

Every change is applied at once to the view of every registry attached
(usually one), the first view deciding whether it is valid: all views
went through the same changes, so any of them would decide the same.
Leases are timers in this process, shared by the attached registries.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger

from micro._kernel.errors import HttpError
from micro._registry.leases import LocalLeases
from micro._registry.state import DEFAULT_TTL, RegistryState
from micro._registry.store.interface import Entry
from micro._registry.store.replica import Replica


@define(eq=False)
class MemoryStore:
    """
    The cluster's state in this process's memory.
    """

    _clock: Any
    ttl: float = DEFAULT_TTL
    epoch: str = field(factory=lambda: secrets.token_hex(8))
    replicas: list[Replica] = field(factory=list, init=False)
    _leases: LocalLeases = field(init=False)
    _holders: dict[str, RegistryState] = field(factory=dict, init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self._leases = LocalLeases(self._clock, self.ttl, self._expired)

    loaded = True
    ready = True

    def describe(self) -> str:
        return "memory"

    def on_unready(self, listener: Callable[[], None]) -> None:
        """
        Never: the state is in this process.
        """

    def attach(self, replica: Replica) -> None:
        """
        Let C{replica} follow this store: it takes the state as it is now.
        """
        if self.replicas:
            replica.load(self.replicas[0].snapshot(), recovering_for=0.0)
        else:
            replica.state.epoch = self.epoch
        replica.state.leases = _HeldLeases(self._leases, replica.state, self._holders,
                                           lambda: self._stopped(replica))
        self.replicas.append(replica)

    def detach(self, replica: Replica) -> None:
        if replica in self.replicas:
            self.replicas.remove(replica)

    def start(self) -> Deferred[None]:
        return succeed(None)

    def change(self, entry: Entry) -> Deferred[Any]:
        first, *others = self.replicas
        try:
            result = first.apply(entry)
        except HttpError as e:
            return fail(e)
        for replica in others:
            replica.apply(entry)
        return succeed(result)

    def allocate(self, home: str) -> Deferred[str]:
        skip = frozenset(r.state.ports.base_port for r in self.replicas)
        try:
            return succeed(self.replicas[0].state.ports.allocate(home, skip))
        except HttpError as e:
            return fail(e)

    def drop(self, node: str, here: RegistryState) -> None:
        """
        Evict C{node}, unless it watches another registry of this process now.
        """
        if self._holders.get(node, here) is here:
            self.change({"op": "evict", "node": node, "why": "its watch connection was lost"})

    def lagging_elsewhere(self, version: int, here: RegistryState) -> Deferred[int]:
        """
        Nodes watching the other registries of this process and not yet at C{version}.
        """
        lagging = sum(1 for replica in self.replicas if replica.state is not here for node in replica.state.nodes()
                      if node.watching and node.seen_version < version)
        return succeed(lagging)

    def stop(self) -> Deferred[None]:
        """
        Nothing to close: the lease timers stop with the last registry's view.
        """
        return succeed(None)

    def _stopped(self, replica: Replica) -> None:
        self.detach(replica)
        if not self.replicas:
            self._leases.stop()

    def _expired(self, node: str) -> None:
        self.change({"op": "evict", "node": node, "why": "its lease expired"})


@define
class _HeldLeases:
    """
    The shared lease timers, as one registry renews them: the store
    remembers which registry a node watches.
    """

    _leases: LocalLeases
    _here: RegistryState
    _holders: dict[str, RegistryState]
    _stop: Callable[[], None]

    def renew(self, node: str) -> None:
        self._holders[node] = self._here
        self._leases.renew(node)

    def claimed(self, node: str) -> None:
        self._leases.renew(node)

    def extend(self, node: str, seconds: float) -> None:
        self._leases.extend(node, seconds)

    def forget(self, node: str) -> None:
        self._holders.pop(node, None)
        self._leases.forget(node)

    def deadline(self, node: str) -> float | None:
        return self._leases.deadline(node)

    def stop(self) -> None:
        self._stop()
