# -*- test-case-name: tests.node.test_table -*-
"""
A caller's copy of the registry's table of service instances.
"""

from __future__ import annotations

from typing import Iterable

from attrs import define, field
from twisted.internet.defer import Deferred

from micro._kernel.protocol import Change


@define
class ServiceTable:
    """
    Service name to instance locations, in registration order, as of
    C{version} of the registry whose incarnation is C{epoch}.

    After a registry restart the locations known from the previous epoch
    stay usable, as C{stale} entries, until the new registry has had time to
    hear from every live instance: callers keep working meanwhile.
    """

    epoch: str = ""
    version: int = -1
    _services: dict[str, list[str]] = field(factory=dict)
    _members: dict[str, set[str]] = field(factory=dict)
    _stale: dict[str, list[str]] = field(factory=dict)
    _waiters: list[tuple[int, Deferred[None]]] = field(factory=list)

    @property
    def loaded(self) -> bool:
        """
        Whether the table has been filled from the registry at least once.
        """
        return self.version >= 0

    def locations(self, service: str) -> list[str]:
        """
        The instances of C{service} in registration order; do not mutate.
        """
        current = self._services.get(service, [])
        if not self._stale:
            return current
        members = self._members.get(service, ())
        extra = [loc for loc in self._stale.get(service, ()) if loc not in members]
        return current + extra if extra else current

    def snapshot(self) -> dict[str, list[str]]:
        names = set(self._services) | set(self._stale)
        return {name: list(self.locations(name)) for name in sorted(names)}

    def replace(self, epoch: str, version: int, services: dict[str, list[str]], *, keep_stale: bool) -> None:
        """
        Take a whole table; with C{keep_stale}, remember the current entries
        as stale ones (the registry is recovering from a restart).
        """
        if keep_stale:
            merged: dict[str, list[str]] = {name: list(locs) for name, locs in self._stale.items()}
            for name, locs in self._services.items():
                merged.setdefault(name, [])
                merged[name].extend(loc for loc in locs if loc not in merged[name])
            self._stale = merged
        else:
            self._stale = {}
        self.epoch = epoch
        self._services = {name: list(locs) for name, locs in services.items() if locs}
        self._members = {name: set(locs) for name, locs in self._services.items()}
        self._advance(version)

    def apply(self, version: int, changes: Iterable[Change]) -> list[str]:
        """
        Apply registry changes in order; return the locations they touched.

        Membership is checked in a set: a node follows every registration
        of a large cluster, and a list scan per change made that quadratic.
        """
        touched = []
        services, members = self._services, self._members
        for op, service, location in changes:
            touched.append(location)
            present = members.get(service)
            if op == "+":
                if present is None:
                    services[service] = [location]
                    members[service] = {location}
                elif location not in present:
                    services[service].append(location)
                    present.add(location)
            elif present is not None and location in present:
                present.discard(location)
                if present:
                    services[service].remove(location)
                else:
                    del services[service], members[service]
        self._advance(version)
        return touched

    def forget_stale(self) -> None:
        """
        Drop what was kept from a previous registry epoch.
        """
        self._stale = {}

    def wait_for(self, version: int) -> Deferred[None]:
        """
        A Deferred that fires once the table reaches C{version}.
        """
        d: Deferred[None] = Deferred()
        if self.version >= version:
            d.callback(None)
        else:
            self._waiters.append((version, d))
        return d

    def _advance(self, version: int) -> None:
        self.version = version
        if not self._waiters:
            return
        ready = [d for v, d in self._waiters if v <= version]
        self._waiters = [(v, d) for v, d in self._waiters if v > version]
        for d in ready:
            d.callback(None)

    def release_waiters(self) -> None:
        """
        Fire every pending L{wait_for}: versions of a new registry epoch say
        nothing about the old ones, and whatever they waited for is being
        registered again anyway.
        """
        waiters, self._waiters = self._waiters, []
        for _, d in waiters:
            d.callback(None)
