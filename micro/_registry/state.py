# -*- test-case-name: tests.registry.test_state -*-
"""
The registry's state: service instances, the nodes that hold them on
leases, and the numbered log of changes that callers follow.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter, deque
from itertools import islice
from typing import Any, Callable
from urllib.parse import urlsplit

from attrs import define, field, frozen
from twisted.logger import Logger

from micro._kernel.errors import HttpError, UnknownService
from micro._kernel.protocol import Change
from micro._registry.ports import PortAllocator

DEFAULT_TTL = 4.0


@frozen
class InstanceRecord:
    """
    One running copy of a service, at C{location}, held by node C{node}.
    """

    service: str
    location: str
    node: str


@define
class NodeRecord:
    """
    A process taking part in the cluster, as the registry sees it.

    @ivar lease: The call that evicts the node unless it is renewed.
    @ivar seen_version: The table version the node said it holds, on its
        latest watch.
    @ivar watching: Whether the node follows the table by watching it.
    @ivar renewed: When its lease was last renewed (the registry's clock).
    """

    id: str
    lease: Any = None
    renewed: float = 0.0
    instances: dict[str, InstanceRecord] = field(factory=dict)
    seen_version: int = -1
    watching: bool = False


@define
class RegistryState:
    """
    Instances by service, in registration order, held on leases.

    Every change gets the next C{version}; the latest C{log_size} changes are
    kept so that a caller can catch up with only what it missed.  C{epoch}
    names this incarnation of the registry: versions of another epoch mean
    nothing here.

    @ivar ttl: Seconds a node stays without renewing its lease.
    @ivar recovering_for: Seconds after start during which nodes that knew
        an earlier registry are still coming back.
    @ivar changes_made: Instances added or removed since start, by kind.
    """

    _clock: Any
    ttl: float = DEFAULT_TTL
    log_size: int = 10_000
    recovering_for: float | None = None
    epoch: str = field(factory=lambda: secrets.token_hex(8))
    version: int = 0
    ports: PortAllocator = field(init=False)
    started: float = field(init=False)
    _services: dict[str, list[str]] = field(factory=dict, init=False)
    _instances: dict[str, InstanceRecord] = field(factory=dict, init=False)
    _nodes: dict[str, NodeRecord] = field(factory=dict, init=False)
    _changes: deque[Change] = field(init=False)
    _on_change: list[Callable[[], None]] = field(factory=list, init=False)
    _on_evict: list[Callable[[str], None]] = field(factory=list, init=False)
    changes_made: Counter[str] = field(factory=Counter, init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self.ports = PortAllocator(self._clock)
        self.started = self._clock.seconds()
        self._changes = deque(maxlen=self.log_size)
        if self.recovering_for is None:
            self.recovering_for = self.ttl

    # -- observers --------------------------------------------------------

    def on_change(self, listener: Callable[[], None]) -> None:
        """
        Call C{listener} after every change to the instance table.
        """
        self._on_change.append(listener)

    def on_evict(self, listener: Callable[[str], None]) -> None:
        """
        Call C{listener} with a node's id when the node is gone.
        """
        self._on_evict.append(listener)

    # -- queries ----------------------------------------------------------

    @property
    def recovering(self) -> bool:
        """
        Whether this registry started so recently that live nodes may not
        all have registered again yet.
        """
        assert self.recovering_for is not None
        return bool(self._clock.seconds() < self.started + self.recovering_for)

    def lookup(self, service: str) -> str:
        """
        A random instance of C{service}; 404 if there is none.
        """
        locations = self._services.get(service)
        if not locations:
            raise UnknownService(service)
        return random.choice(locations)

    def locations(self, service: str) -> list[str]:
        return self._services.get(service, [])

    def table(self) -> dict[str, list[str]]:
        return {name: list(locs) for name, locs in self._services.items()}

    def instance_at(self, location: str) -> InstanceRecord | None:
        return self._instances.get(location)

    def node(self, node_id: str) -> NodeRecord | None:
        return self._nodes.get(node_id)

    def nodes(self) -> list[NodeRecord]:
        return list(self._nodes.values())

    def changes_since(self, version: int) -> list[Change] | None:
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

    # -- leases -----------------------------------------------------------

    def renew(self, node_id: str) -> bool:
        """
        Renew the lease of C{node_id}, creating its record if it is new.

        @return: Whether the node was known before.
        """
        record = self._nodes.get(node_id)
        known = record is not None
        if record is None:
            record = self._nodes[node_id] = NodeRecord(node_id)
        record.renewed = self._clock.seconds()
        if record.lease is not None and record.lease.active():
            record.lease.reset(self.ttl)
        else:
            record.lease = self._clock.callLater(self.ttl, self._expire, node_id)
        return known

    def extend(self, node_id: str, seconds: float) -> None:
        """
        Make the lease of C{node_id} last at least C{seconds} from now: the
        registry just answered its watch, and the node needs that long to
        watch again, however late the answer was.
        """
        record = self._nodes.get(node_id)
        if record is None or record.lease is None or not record.lease.active():
            return
        until = self._clock.seconds() + seconds
        if record.lease.getTime() < until:
            record.lease.reset(seconds)

    def _expire(self, node_id: str) -> None:
        record = self._nodes.get(node_id)
        if record is not None:
            record.lease = None
        self.evict(node_id, "its lease expired", "evict_lease")

    def evict(self, node_id: str, why: str, kind: str = "evict_drop") -> None:
        """
        Forget a node and every instance it held.
        """
        record = self._nodes.pop(node_id, None)
        if record is None:
            return
        if record.lease is not None and record.lease.active():
            record.lease.cancel()
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
        """
        Cancel every lease timer.
        """
        for record in self._nodes.values():
            if record.lease is not None and record.lease.active():
                record.lease.cancel()
            record.lease = None

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
        self.renew(node_id)
        record = self._nodes[node_id]
        if existing is not None:
            if existing.node != node_id:
                previous = self._nodes.get(existing.node)
                if previous is not None:
                    previous.instances.pop(location, None)
                moved = InstanceRecord(service, location, node_id)
                self._instances[location] = moved
                record.instances[location] = moved
            return self.version
        instance = InstanceRecord(service, location, node_id)
        self._instances[location] = instance
        record.instances[location] = instance
        self._services.setdefault(service, []).append(location)
        host, port = _host_port(location)
        self.ports.occupy(host, port)
        self._record(("+", service, location))
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

    def _remove(self, instance: InstanceRecord) -> None:
        del self._instances[instance.location]
        locations = self._services[instance.service]
        locations.remove(instance.location)
        if not locations:
            del self._services[instance.service]
        host, port = _host_port(instance.location)
        self.ports.release(host, port)
        self._record(("-", instance.service, instance.location))

    def _record(self, change: Change) -> None:
        self.version += 1
        self._changes.append(change)

    def _changed(self) -> None:
        for listener in self._on_change:
            listener()


def _host_port(location: str) -> tuple[str, int]:
    parts = urlsplit(location)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port
