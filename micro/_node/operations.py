# -*- test-case-name: tests.node.test_operations -*-
"""
What a node shows its operators: its observer (metrics, spans, access
log), its metrics page, and whether each of its instances is ready.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Protocol

from attrs import define, field

from micro._kernel.config import Settings
from micro._kernel.errors import InvalidArgument
from micro._kernel.observer import Observability, Observer
from micro._observe.exposition import MISSING, MetricSet, metrics_available
from micro._observe.observer import MicroObserver
from micro._observe.probes import Guard
from micro._observe.recorder import Gauge


class Served(Protocol):
    """
    What readiness and the gauges need of an instance.
    """

    @property
    def name(self) -> str: ...

    @property
    def in_flight(self) -> int: ...

    @property
    def draining(self) -> bool: ...

    registered: bool


def in_flight(instances: Iterable[Served]) -> dict[tuple[str, ...], int]:
    """
    Calls running now, per service, over C{instances}.
    """
    running: dict[tuple[str, ...], int] = {}
    for instance in instances:
        running[(instance.name,)] = running.get((instance.name,), 0) + instance.in_flight
    return running


@define(eq=False)
class NodeOperations:
    """
    A node's observer and operator pages.

    @ivar has_table: Whether the node holds a table from the registry.
    """

    observer: Observer | None
    metrics: MetricSet | None
    guard: Guard
    metrics_open: bool
    has_table: Callable[[], bool] = field(default=lambda: True)

    @classmethod
    def build(cls, reactor: Any, settings: Settings, observability: Observability | None,
              instances: Callable[[], Iterable[Served]], tracer_provider: Any = None) -> NodeOperations:
        """
        @raise InvalidArgument: Metrics are asked for and prometheus-client is missing.
        """
        observability = observability or Observability()
        if observability.metrics and not metrics_available():
            raise InvalidArgument(MISSING)
        observer = MicroObserver.build(reactor, observability, tracer_provider)
        metric_set = None
        if observer is not None and observer.metrics is not None:
            metric_set = MetricSet()
            metric_set.add(*observer.metrics.all(), Gauge(
                "micro_calls_in_flight", "Calls running now in this process's instances.", ("service",),
                lambda: in_flight(instances())))
        return cls(observer, metric_set, Guard(settings.token, settings.production), observability.metrics_open)

    def readiness(self, instance: Served) -> str | None:
        """
        Why C{instance} should get no work now, or C{None}: it is ready.
        """
        if instance.draining:
            return "draining: leaving the cluster"
        if not instance.registered:
            return "not registered yet"
        if not self.has_table():
            return "no service table from the registry yet"
        return None
