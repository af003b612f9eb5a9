# -*- test-case-name: tests.registry.test_ports -*-
"""
Port allocation for the C{setup} command.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from micro._kernel.errors import HttpError
from micro._kernel.validation import host_text, split_url


@define
class PortAllocator:
    """
    Hand out locations on a host: the registry's port + 1, + 2, ..., or from
    the port a home names, skipping ports in use or recently handed out.

    A port handed out is reserved for C{reserve_for} seconds so that a
    service that failed to bind it (someone else holds it) asks again and
    gets the next one; ports of unregistered instances are free at once.
    """

    _clock: Any
    base_port: int = 9999
    reserve_for: float = 30.0
    _used: dict[tuple[str, int], int] = field(factory=dict)
    _reserved: dict[tuple[str, int], float] = field(factory=dict)

    def allocate(self, home: str, skip: frozenset[int] = frozenset()) -> str:
        """
        A location on the host of C{home}; ports in C{skip} (those other
        registries listen on) are never handed out.
        """
        scheme, host, port, _ = split_url(home, "home")
        start = port if port is not None else self.base_port + 1
        now = self._clock.seconds()
        candidate = start
        while candidate <= 65535:
            key = (host, candidate)
            taken = key in self._used or self._reserved.get(key, 0.0) > now
            if not taken and candidate != self.base_port and candidate not in skip:
                self._reserved[key] = now + self.reserve_for
                self._forget_expired(now)
                return f"{scheme}://{host_text(host)}:{candidate}"
            candidate += 1
        raise HttpError(503, f"no free port left on {host} from {start}")

    def reserved(self) -> dict[tuple[str, int], float]:
        """
        The ports handed out and not yet registered, with when each reservation ends.
        """
        return dict(self._reserved)

    def occupy(self, host: str, port: int) -> None:
        key = (host, port)
        self._used[key] = self._used.get(key, 0) + 1
        self._reserved.pop(key, None)

    def release(self, host: str, port: int) -> None:
        key = (host, port)
        count = self._used.get(key, 0) - 1
        if count > 0:
            self._used[key] = count
        else:
            self._used.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        if len(self._reserved) > 1024:
            self._reserved = {k: t for k, t in self._reserved.items() if t > now}
