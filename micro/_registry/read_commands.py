# -*- test-case-name: tests.registry.test_read_commands -*-
"""
Registry commands that only read, for tools (C{micro nodes}, C{micro watch},
C{micro top}, a dashboard):

    {"nodes": true}                           every node: its instances and lease
    {"changes": {"epoch": e, "version": v}}   a read-only watch (see L{observers})
    {"stats": true}                           per-service call counts and rates

None of them changes anything, renews a lease or needs the token.
"""

from __future__ import annotations

from typing import Any

from attrs import define
from twisted.internet.defer import Deferred

from micro._kernel.errors import WrongType
from micro._registry.arguments import as_object, integer
from micro._registry.commands import CommandReply, RegistryCommands
from micro._registry.metrics import ServiceMetrics
from micro._registry.observers import ChangeObservers
from micro._registry.state import RegistryState


@define
class RegistryReads:
    """
    The read-only commands over a registry's state, watches and metrics.
    """

    state: RegistryState
    metrics: ServiceMetrics
    observers: ChangeObservers
    _clock: Any

    @classmethod
    def install(cls, commands: RegistryCommands, clock: Any) -> RegistryReads:
        observers = ChangeObservers(commands.state, commands.hub.replies, clock, commands.hub.hold)
        reads = cls(commands.state, commands.metrics, observers, clock)
        commands.add("nodes", reads.nodes)
        commands.add("changes", reads.changes)
        commands.add("stats", reads.stats)
        return reads

    def nodes(self, argument: Any = None) -> list[dict[str, Any]]:
        """
        Every node: its instances, how long ago it renewed its lease and
        how long the lease has left (seconds), whether it watches and which
        table version it said it holds.
        """
        now = self._clock.seconds()
        listing = []
        for record in sorted(self.state.nodes(), key=lambda n: n.id):
            # Leases kept in a shared store end by its clock: from here, only
            # the renewals this registry made are known.
            deadline = self.state.leases.deadline(record.id)
            if deadline is None:
                deadline = record.renewed + self.state.ttl if record.renewed else now
            listing.append({
                "node": record.id,
                "instances": [{"service": i.service, "location": i.location} for i in record.instances.values()],
                "lease_age": round(now - record.renewed, 3),
                "expires_in": round(max(deadline - now, 0.0), 3),
                "watching": record.watching,
                "version": record.seen_version,
            })
        return listing

    def changes(self, argument: Any) -> Deferred[CommandReply]:
        """
        The changes after a version, as a node's watch gets them, without a
        lease; C{true} (or no version) for the whole table at once.
        """
        if argument is True or argument is None:
            argument = {}
        argument = as_object(argument, "changes", '{"epoch": "...", "version": 12}')
        epoch = argument.get("epoch") or ""
        if not isinstance(epoch, str):
            raise WrongType("changes epoch must be a string")
        version = integer(argument.get("version", -1), "changes version")
        return self.observers.observe(epoch, version).addCallback(CommandReply.json)

    def stats(self, argument: Any = None) -> dict[str, Any]:
        """
        Per service: instances, call totals, calls running, rates and
        recent latency percentiles (L{ServiceMetrics.summary}).
        """
        return self.metrics.summary()

    def stop(self) -> None:
        self.observers.stop()
