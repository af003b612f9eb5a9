# -*- test-case-name: tests.registry.test_state -*-
"""
The numbered changes of the instance table, kept so that a node that is
behind catches up with only what it missed.
"""

from __future__ import annotations

from collections import deque
from itertools import islice

from attrs import define, field

from micro._kernel.protocol import Change


@define
class ChangeLog:
    """
    The latest C{size} changes; the last one is number C{version}.
    """

    size: int = 10_000
    version: int = 0
    _changes: deque[Change] = field(init=False)

    def __attrs_post_init__(self) -> None:
        self._changes = deque(maxlen=self.size)

    def record(self, change: Change) -> None:
        self.version += 1
        self._changes.append(change)

    def restart(self, version: int) -> None:
        """
        Forget every change: the table is now at C{version}, however it got there.
        """
        self.version = version
        self._changes.clear()

    def since(self, version: int) -> list[Change] | None:
        """
        The changes after C{version}, or C{None} if they are no longer kept.
        """
        missing = self.version - version
        changes = self._changes
        if missing < 0 or missing > len(changes):
            return None
        if missing <= 64:  # the usual case: a few at the end, reached from there
            return [changes[-i] for i in range(missing, 0, -1)]
        return list(islice(changes, len(changes) - missing, None))
