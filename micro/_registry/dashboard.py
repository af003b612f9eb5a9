# -*- test-case-name: tests.registry.test_dashboard -*-
"""
What the dashboard page (C{/_micro/ui}) shows, as one JSON document its
script polls: the registry, services with their instances and nodes,
routes, channels, and per service the rates and latencies the nodes
report on their watches (L{micro._registry.metrics}: no Prometheus needed).

Whether an instance serves or drains, and the calls it is running, only
the instance knows: while the page is open, the registry asks each
instance at C{GET /_micro/health} (at most every L{PROBE_INTERVAL}), and
keeps asking instances that unregistered while their process lives on
(draining) for as long as they answer, or, once they stopped listening,
as long as their node reports calls of theirs running.  When nobody looks,
nothing is asked and nothing is tracked.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field

from micro._http.client import HttpClient
from micro._kernel.codec import MalformedBody, loads
from micro._kernel.protocol import HEALTH_PATH
from micro._registry.metrics import ServiceMetrics
from micro._registry.state import RegistryState

PROBE_INTERVAL = 1.5
PROBE_TIMEOUT = 1.0
# The page counts as open this long after it last asked.
LOOKING = 10.0
# An unregistered instance is followed this long at most.
DRAIN_WATCH = 30.0


@define(eq=False)
class Dashboard:
    """
    The dashboard's document, and the instance probes behind it.

    @ivar sources: C{health}, C{nodes}, C{routes}, C{channels}: functions
        giving those parts of the document.
    """

    _state: RegistryState
    _calls: ServiceMetrics
    _http: HttpClient
    _clock: Any
    sources: dict[str, Callable[[], Any]]
    _asked: float = field(default=float("-inf"), init=False)
    _probed: float = field(default=float("-inf"), init=False)
    _health: dict[str, dict[str, Any]] = field(factory=dict, init=False)
    _known: dict[str, tuple[str, str]] = field(factory=dict, init=False)
    _leaving: dict[str, tuple[str, str, float]] = field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        self._state.on_change(self._changed)

    @property
    def looking(self) -> bool:
        return bool(self._clock.seconds() - self._asked < LOOKING)

    def document(self) -> dict[str, Any]:
        """
        Everything the page shows, as of now; starts the next probes if due.
        """
        now = self._clock.seconds()
        if not self.looking:
            self._known = {i.location: (i.service, i.node) for i in self._instances()}
        self._asked = now
        if now - self._probed >= PROBE_INTERVAL:
            self._probed = now
            self._probe()
        nodes = self.sources["nodes"]()
        lease_age = {i["location"]: n["lease_age"] for n in nodes for i in n["instances"]}
        summary = self._calls.summary()["services"]
        table = self._state.table()
        services = []
        for name in sorted(set(table) | set(summary)):
            instances = [self._instance(location, name, lease_age.get(location)) for location in table.get(name, [])]
            instances += [self._instance(location, name, None, "draining")
                          for location, (service, _, _) in sorted(self._leaving.items()) if service == name]
            figures = summary.get(name, {})
            services.append({"name": name, "instances": instances, **{key: figures.get(key) for key in (
                "calls", "errors", "in_flight", "calls_per_second", "errors_per_second", "p50", "p99")}})
        return {"at": now, "registry": self.sources["health"](), "services": services, "nodes": nodes,
                "routes": self.sources["routes"](), "channels": self.sources["channels"]()}

    def _instances(self) -> list[Any]:
        return [record for node in self._state.nodes() for record in node.instances.values()]

    def _instance(self, location: str, service: str, lease_age: float | None, status: str | None = None) -> dict[str, Any]:
        instance = self._state.instance_at(location)
        health = self._health.get(location, {})
        return {"location": location, "node": instance.node if instance else self._leaving.get(location, ("", "", 0))[1],
                "lease_age": lease_age, "status": health.get("status") or status or "unknown",
                "in_flight": health.get("in_flight")}

    def _changed(self) -> None:
        """
        Note instances that left by unregistering while their node lives on:
        they drain.
        """
        if not self.looking:
            return
        now = self._clock.seconds()
        current = {i.location: (i.service, i.node) for i in self._instances()}
        for location, (service, node) in self._known.items():
            if location not in current and self._state.node(node) is not None:
                self._leaving[location] = (service, node, now)
                self._health.pop(location, None)
        for location in current:
            self._leaving.pop(location, None)
        self._known = current

    def _probe(self) -> None:
        now = self._clock.seconds()
        for location, (_, _, since) in list(self._leaving.items()):
            if now - since > DRAIN_WATCH:
                self._forget(location)
        listed = [location for locations in self._state.table().values() for location in locations]
        wanted = {*listed, *self._leaving}
        self._health = {location: health for location, health in self._health.items() if location in wanted}
        for location in wanted:
            d = self._http.request(b"GET", (location + HEALTH_PATH).encode("utf-8"), None, None, PROBE_TIMEOUT)
            d.addCallbacks(self._answered, self._unanswered, callbackArgs=(location,), errbackArgs=(location,))

    def _answered(self, reply: Any, location: str) -> None:
        try:
            health = loads(reply.body) if reply.code == 200 else None
        except MalformedBody:
            health = None
        if isinstance(health, dict):
            self._health[location] = health
        else:
            self._unanswered(None, location)

    def _unanswered(self, failure: Any, location: str) -> None:
        leaving = self._leaving.get(location)
        if leaving is None:
            self._health.pop(location, None)
            return
        service, node, _ = leaving
        running = self._calls.in_flight(node, service) if self._state.node(node) is not None else 0
        if running:
            self._health[location] = {"status": "draining", "in_flight": running}
        else:
            self._forget(location)

    def _forget(self, location: str) -> None:
        self._leaving.pop(location, None)
        self._health.pop(location, None)
