# -*- test-case-name: tests.registry.test_several_registries -*-
"""
What a registry held before its cluster's state was lost (a shared store
that came back empty: a new epoch), kept for routing while the nodes
register again, as nodes keep their own stale entries meanwhile.
"""

from __future__ import annotations

from attrs import define, field


@define
class StaleLocations:
    """
    Instances by service from the previous epoch.
    """

    _services: dict[str, list[str]] = field(factory=dict)

    def __bool__(self) -> bool:
        return bool(self._services)

    def keep(self, table: dict[str, list[str]]) -> None:
        self._services = table

    def clear(self) -> None:
        self._services = {}

    def merged(self, service: str, current: list[str]) -> list[str]:
        """
        C{current}, followed by the stale locations of C{service} not in it.
        """
        stale = self._services.get(service)
        if not stale:
            return current
        extra = [location for location in stale if location not in current]
        return current + extra if extra else current
