# -*- test-case-name: tests.registry.store.test_contract -*-
"""
A registry's view of the cluster as a store sees it: the changes it can
apply, and the snapshot it can be loaded from.

The registry's core applies instance changes; its features (routes,
pub/sub) add the changes and the parts of the snapshot that are theirs.
Applying the same entries in the same order gives the same view on every
registry: that is what a shared store relies on.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field, frozen
from twisted.logger import Logger

from micro._kernel.errors import InvalidArgument
from micro._registry.records import InstanceRecord
from micro._registry.state import RegistryState
from micro._registry.store.interface import Entry

Applier = Callable[[Entry], Any]


@frozen
class SnapshotPart:
    """
    One feature's share of a snapshot: how to write it out and read it back.
    """

    dump: Callable[[], Any]
    load: Callable[[Any], None]


@define
class Replica:
    """
    The view of one registry, changed only through L{apply} and L{load}.
    """

    state: RegistryState
    _appliers: dict[str, Applier] = field(factory=dict, init=False)
    _parts: dict[str, SnapshotPart] = field(factory=dict, init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        state = self.state
        self.on("register", lambda e: state.register(e["service"], e["location"], e.get("node")))
        self.on("unregister", lambda e: state.unregister(e["service"], e["location"]))
        self.on("evict", lambda e: state.evict(e["node"], e.get("why", "evicted")))

    def on(self, op: str, applier: Applier) -> None:
        """
        Apply entries of C{op} with C{applier}, which returns the result of
        the change or raises an L{HttpError} (and changes nothing).
        """
        self._appliers[op] = applier

    def part(self, name: str, part: SnapshotPart) -> None:
        self._parts[name] = part

    def apply(self, entry: Entry) -> Any:
        """
        Apply one change; the feed position moves on only if it was applied.
        """
        applier = self._appliers.get(entry.get("op", ""))
        if applier is None:
            raise InvalidArgument(f"no such change: {entry.get('op')!r}")
        result = applier(entry)
        self.state.position += 1
        return result

    def snapshot(self) -> dict[str, Any]:
        """
        The whole view, as JSON-able data.
        """
        state = self.state
        return {
            "epoch": state.epoch,
            "version": state.version,
            "position": state.position,
            "instances": [[i.service, i.location, i.node, i.order] for i in state.instances()],
            **{name: part.dump() for name, part in self._parts.items()},
        }

    def load(self, snapshot: dict[str, Any], *, recovering_for: float | None = None) -> None:
        """
        Replace the whole view with C{snapshot}.
        """
        instances = [InstanceRecord(s, loc, n, o) for s, loc, n, o in snapshot["instances"]]
        self.state.reset(snapshot["epoch"], snapshot["version"], snapshot["position"], instances,
                         recovering_for=recovering_for)
        for name, part in self._parts.items():
            part.load(snapshot.get(name) or [])
        self.state.notify_changed()
