# -*- test-case-name: tests.registry.test_state -*-
"""
The registry's view of the cluster: service instances, the nodes that hold
them on leases, and the numbered log of changes that callers follow.

Every registry holds a whole view in memory and answers reads from it
(lookups, watches, calls, routes).  Changes come through the store
(L{micro._registry.store}): applied here directly with the in-memory
store, or, with a shared store, in the order of its change feed, so that
every registry's view goes through the same versions.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from typing import Any, Callable, Iterable

from attrs import define, field
from twisted.logger import Logger

from micro._kernel.errors import HttpError, UnknownService
from micro._kernel.protocol import Change
from micro._registry.change_log import ChangeLog
from micro._registry.leases import Leases, LocalLeases
from micro._registry.ports import PortAllocator
from micro._registry.records import InstanceRecord, NodeRecord, host_port
from micro._registry.stale import StaleLocations

DEFAULT_TTL = 4.0


@define
class RegistryState:
    """
    Instances by service, in registration order, held on leases.

    Every change to the instance table gets the next C{version}; the latest
    C{log_size} changes are kept so that a caller can catch up with only
    what it missed.  C{epoch} names this incarnation of the cluster's
    state: versions of another epoch mean nothing here.  C{position}
    counts every change the store made (routes and subscriptions too).

    @ivar ttl: Seconds a node stays without renewing its lease.
    @ivar recovering_for: Seconds after the epoch began during which nodes
        that knew an earlier one are still coming back.
    @ivar leases: Where lease deadlines are kept: timers here by default,
        the shared store's keeper with a shared store.
    @ivar changes_made: Instances added or removed as seen here, by kind.
    """

    _clock: Any
    ttl: float = DEFAULT_TTL
    log_size: int = 10_000
    recovering_for: float | None = None
    epoch: str = field(factory=lambda: secrets.token_hex(8))
    position: int = 0
    ports: PortAllocator = field(init=False)
    started: float = field(init=False)
    leases: Leases = field(init=False)
    _services: dict[str, list[str]] = field(factory=dict, init=False)
    _instances: dict[str, InstanceRecord] = field(factory=dict, init=False)
    _nodes: dict[str, NodeRecord] = field(factory=dict, init=False)
    _log_of_changes: ChangeLog = field(init=False)
    _on_change: list[Callable[[], None]] = field(factory=list, init=False)
    _on_evict: list[Callable[[str], None]] = field(factory=list, init=False)
    _on_reset: list[Callable[[], None]] = field(factory=list, init=False)
    changes_made: Counter[str] = field(factory=Counter, init=False)
    _stale: StaleLocations = field(factory=StaleLocations, init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self.ports = PortAllocator(self._clock)
        self.started = self._clock.seconds()
        self._log_of_changes = ChangeLog(self.log_size)
        self.leases = LocalLeases(self._clock, self.ttl, self._expired)
        if self.recovering_for is None:
            self.recovering_for = self.ttl

    # -- observers --------------------------------------------------------

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call C{listener} after every change to the instance table."""
        self._on_change.append(listener)

    def on_evict(self, listener: Callable[[str], None]) -> None:
        """Call C{listener} with a node's id when the node is gone."""
        self._on_evict.append(listener)

    def on_reset(self, listener: Callable[[], None]) -> None:
        """Call C{listener} after the view was replaced whole (a new epoch, or a snapshot)."""
        self._on_reset.append(listener)

    # -- queries ----------------------------------------------------------

    @property
    def recovering(self) -> bool:
        """Whether this epoch began so recently that live nodes may not all have registered again."""
        assert self.recovering_for is not None
        return bool(self._clock.seconds() < self.started + self.recovering_for)

    def lookup(self, service: str) -> str:
        """A random instance of C{service}; 404 if there is none."""
        locations = self.locations(service)
        if not locations:
            raise UnknownService(service)
        return random.choice(locations)

    def locations(self, service: str) -> list[str]:
        """Where C{service} is; after a lost state, also where it was, while recovering."""
        current = self._services.get(service, [])
        if self._stale:
            if self.recovering:
                return self._stale.merged(service, current)
            self._stale.clear()
        return current

    def table(self) -> dict[str, list[str]]:
        return {name: list(locs) for name, locs in self._services.items()}

    def instance_at(self, location: str) -> InstanceRecord | None:
        return self._instances.get(location)

    def instances(self) -> list[InstanceRecord]:
        """Every instance, in registration order."""
        return sorted(self._instances.values(), key=lambda i: i.order)

    def node(self, node_id: str) -> NodeRecord | None:
        return self._nodes.get(node_id)

    def nodes(self) -> list[NodeRecord]:
        return list(self._nodes.values())

    @property
    def version(self) -> int:
        return self._log_of_changes.version

    def changes_since(self, version: int) -> list[Change] | None:
        """The changes after C{version}, or C{None} if they are no longer kept."""
        return self._log_of_changes.since(version)

    # -- leases -----------------------------------------------------------

    def renew(self, node_id: str) -> bool:
        """
        Renew the lease of C{node_id}, creating its record if it is new.

        @return: Whether the node was known before.
        """
        known = node_id in self._nodes
        self.ensure_node(node_id).renewed = self._clock.seconds()
        self.leases.renew(node_id)
        return known

    def extend(self, node_id: str, seconds: float) -> None:
        """Make the lease of C{node_id} last at least C{seconds} from now."""
        if node_id in self._nodes:
            self.leases.extend(node_id, seconds)

    def _expired(self, node_id: str) -> None:
        self.evict(node_id, "its lease expired")

    def evict(self, node_id: str, why: str) -> None:
        """Forget a node and every instance it held (counted by why: its lease, or its watch dropped)."""
        kind = "evict_lease" if "lease" in why else "evict_drop"
        record = self._nodes.pop(node_id, None)
        self.leases.forget(node_id)
        if record is None:
            return
        if record.instances:
            self._log.info(
                "evicted node {node} ({count} instances): {why}",
                node=node_id, count=len(record.instances), why=why,
            )
            for instance in list(record.instances.values()):
                self._remove(instance)
                self.changes_made[kind] += 1
            self._changed()
        for listener in self._on_evict:
            listener(node_id)

    def stop(self) -> None:
        self.leases.stop()

    # -- changes ----------------------------------------------------------

    def register(self, service: str, location: str, node_id: str | None = None) -> int:
        """
        Add an instance; a node that registers also renews its lease.

        An instance registered without a node is a node of its own, named by
        its location, and must renew its lease (heartbeat) under that name.

        @return: The version at which the instance is in the table.
        """
        node_id = node_id or location
        existing = self._instances.get(location)
        if existing is not None and existing.service != service:
            raise HttpError(409, f"{location} already hosts service {existing.service!r}")
        record = self.ensure_node(node_id)
        self.leases.claimed(node_id)
        if existing is not None:
            if existing.node != node_id:
                previous = self._nodes.get(existing.node)
                if previous is not None:
                    previous.instances.pop(location, None)
                moved = InstanceRecord(service, location, node_id, existing.order)
                self._instances[location] = moved
                record.instances[location] = moved
                self._changed()  # what hung on the old node (subscriptions) goes
            return self.version
        self._add(InstanceRecord(service, location, node_id, self.version + 1), record)
        self.changes_made["register"] += 1
        self._log.info("registered {service} at {location}", service=service, location=location)
        self._changed()
        return self.version

    def unregister(self, service: str, location: str) -> int:
        """
        Remove an instance; 404 if C{service} has none at C{location}.
        """
        instance = self._instances.get(location)
        if instance is None or instance.service != service:
            raise HttpError(404, f"no instance of {service!r} is registered at {location}")
        record = self._nodes.get(instance.node)
        if record is not None:
            record.instances.pop(location, None)
        self._remove(instance)
        self.changes_made["unregister"] += 1
        self._log.info("unregistered {service} at {location}", service=service, location=location)
        self._changed()
        return self.version

    # -- the whole view ---------------------------------------------------

    def reset(self, epoch: str, version: int = 0, position: int = 0,
              instances: Iterable[InstanceRecord] = (), *, recovering_for: float | None = None) -> None:
        """
        Replace the whole view: a new epoch, or a snapshot of the store's.
        Nodes are known again as they hold something or watch here; in a
        new epoch, the instances of the old one stay routable (stale) while recovering.
        """
        self._stale.keep(self.table() if epoch != self.epoch else {})
        self.epoch, self.position = epoch, position
        self._log_of_changes.restart(version)
        self.started = self._clock.seconds()
        if recovering_for is not None:
            self.recovering_for = recovering_for
        self._services, self._instances, self._nodes = {}, {}, {}
        self.ports = PortAllocator(self._clock, self.ports.base_port, self.ports.reserve_for)
        for instance in sorted(instances, key=lambda i: i.order):
            self._add(instance, self.ensure_node(instance.node), record_change=False)
        for listener in self._on_reset:
            listener()

    def ensure_node(self, node_id: str) -> NodeRecord:
        """
        The record of C{node_id}, made if it is new (a node holding a route
        or a subscription, learnt from the store).
        """
        record = self._nodes.get(node_id)
        if record is None:
            record = self._nodes[node_id] = NodeRecord(node_id)
        return record

    def _add(self, instance: InstanceRecord, record: NodeRecord, *, record_change: bool = True) -> None:
        location = instance.location
        self._instances[location] = instance
        record.instances[location] = instance
        self._services.setdefault(instance.service, []).append(location)
        host, port = host_port(location)
        self.ports.occupy(host, port)
        if record_change:
            self._record(("+", instance.service, location))

    def _remove(self, instance: InstanceRecord) -> None:
        del self._instances[instance.location]
        locations = self._services[instance.service]
        locations.remove(instance.location)
        if not locations:
            del self._services[instance.service]
        host, port = host_port(instance.location)
        self.ports.release(host, port)
        self._record(("-", instance.service, instance.location))

    def _record(self, change: Change) -> None:
        self._log_of_changes.record(change)

    def notify_changed(self) -> None:
        """Tell the listeners the table changed (after a L{reset})."""
        self._changed()

    def _changed(self) -> None:
        for listener in self._on_change:
            listener()

