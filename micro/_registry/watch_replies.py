# -*- test-case-name: tests.registry.test_watch_replies -*-
"""
The bytes of watch replies: the changes since a version, or the whole table.

Every change is encoded once, when it happens; the reply for any version is
then a join of ready-made pieces.  Under churn the nodes are behind by
different amounts (each answered at its own moment), and encoding each of
their replies from scratch was the registry's largest cost at 10,000
nodes (bench/bench_scale.py).
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from micro._kernel.codec import dumps
from micro._registry.state import RegistryState


@define
class WatchReplies:
    """
    Encoded watch replies for C{registry}, cached until the table changes.

    @ivar hold: Told to nodes in every reply (they wait that long, and a
        little more, for an answer).
    """

    _state: RegistryState
    hold: float
    _pieces: list[bytes] = field(factory=list, init=False)
    _base: int = field(default=0, init=False)
    _cache: dict[tuple[Any, ...], bytes] = field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        self._base = self._state.version

    def changed(self) -> None:
        """
        Encode the changes the registry made since the last call.
        """
        self._cache.clear()
        registry = self._state
        known = self._base + len(self._pieces)
        new = registry.changes_since(known)
        if new is None:
            self._pieces, self._base = [], registry.version
            return
        self._pieces.extend(dumps(change) for change in new)
        excess = len(self._pieces) - registry.log_size
        if excess > registry.log_size // 2:
            del self._pieces[:excess]
            self._base += excess

    def since(self, version: int) -> bytes:
        """
        The changes after C{version}, or the whole table if they are not
        kept any more.
        """
        registry = self._state
        recovering = registry.recovering
        key = ("since", version, registry.version, recovering)
        reply = self._cache.get(key)
        if reply is None:
            start = version - self._base
            if start < 0 or version > registry.version or self._base + len(self._pieces) != registry.version:
                return self.full(True)
            head = dumps({"epoch": registry.epoch, "version": registry.version})
            tail = dumps({"recovering": recovering, "hold": self.hold})
            reply = b"".join((head[:-1], b',"changes":[', b",".join(self._pieces[start:]), b"],", tail[1:]))
            self._cache[key] = reply
        return reply

    def full(self, known: bool) -> bytes:
        """
        The whole table, saying whether the registry knew the node.
        """
        registry = self._state
        recovering = registry.recovering
        key = ("full", registry.version, known, recovering)
        reply = self._cache.get(key)
        if reply is None:
            reply = dumps({
                "epoch": registry.epoch,
                "version": registry.version,
                "services": registry.table(),
                "known": known,
                "recovering": recovering,
                "hold": self.hold,
            })
            self._cache[key] = reply
        return reply
