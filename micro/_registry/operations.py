# -*- test-case-name: tests.registry.test_operations -*-
"""
What a registry shows its operators: its observer (route metrics, spans,
access log, deliveries), and its metrics page, whose registry-wide series
are read from its state when scraped.

Besides the series L{micro._observe.observer.CallMetrics} records, a
registry serves:

  - C{micro_registry_instances{service}}, C{micro_registry_nodes},
    C{micro_registry_watchers}: the table and who follows it;
  - C{micro_registry_changes_total{op}}: instances registered,
    unregistered, evicted when their lease ran out (C{evict_lease}) or
    their watch connection dropped (C{evict_drop});
  - C{micro_registry_broadcast_seconds}: from a change until every
    watching node holds it (one change timed at a time);
  - C{micro_service_calls_total{service}}, C{..._call_errors_total},
    C{..._calls_in_flight} and C{micro_service_call_duration_seconds}: the
    counts every node reports on its watch, added up
    (L{micro._registry.metrics}), so that one scrape of the registry covers
    the cluster's calls.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from micro._kernel.errors import InvalidArgument
from micro._kernel.latency import BOUNDS
from micro._kernel.observer import Observability
from micro._observe.exposition import MISSING, MetricSet, metrics_available
from micro._observe.observer import MicroObserver
from micro._observe.probes import Guard
from micro._observe.recorder import CounterView, Gauge, Histogram, histogram_family
from micro._registry.metrics import ServiceMetrics
from micro._registry.state import RegistryState
from micro._registry.watch_hub import WatchHub

# A change not seen by every watcher within this long is not timed.
BROADCAST_TIMEOUT = 60.0


@define(eq=False)
class RegistryOperations:
    """
    A registry's observer and operator pages.

    @ivar stopping: Whether the registry is shutting down (then not ready).
    @ivar store: Where its state is kept (a registry cut off from a shared
        store is not ready: nodes should watch another).
    """

    observer: MicroObserver | None
    metrics: MetricSet | None
    guard: Guard
    metrics_open: bool
    stopping: bool = False
    store: Any = None

    @classmethod
    def build(cls, reactor: Any, observability: Observability | None, token: str | None, production: bool,
              tracer_provider: Any = None) -> RegistryOperations:
        """
        @raise InvalidArgument: Metrics are asked for and prometheus-client is missing.
        """
        observability = observability or Observability()
        if observability.metrics and not metrics_available():
            raise InvalidArgument(MISSING)
        observer = MicroObserver.build(reactor, observability, tracer_provider)
        metric_set = MetricSet(observer.metrics.all()) if observer is not None and observer.metrics else None
        return cls(observer, metric_set, Guard(token, production), observability.metrics_open)

    def readiness(self) -> str | None:
        """
        Why this registry should get no work now, or C{None}: it is ready.
        """
        if self.stopping:
            return "stopping"
        if self.store is not None and not self.store.ready:
            return f"its view of the cluster is not current: it cannot reach its store ({self.store.describe()})"
        return None

    def follow(self, state: RegistryState, hub: WatchHub, calls: ServiceMetrics, clock: Any) -> None:
        """
        Serve the registry-wide series of C{state}, C{hub} and the nodes' call counts.
        """
        if self.metrics is None:
            return
        broadcasts = BroadcastTimer(state, hub, clock)
        self.metrics.add(
            Gauge("micro_registry_instances", "Registered instances, by service.", ("service",),
                  lambda: {(name,): len(locations) for name, locations in state.table().items()}),
            Gauge("micro_registry_nodes", "Nodes holding a lease.", (), lambda: len(state.nodes())),
            Gauge("micro_registry_watchers", "Nodes whose watch is waiting here now.", (), hub.watching),
            CounterView("micro_registry_changes", "Instances added to or removed from the table, by kind.",
                        ("op",), lambda: {(op,): count for op, count in state.changes_made.items()}),
            broadcasts.histogram, ClusterCalls(calls))


@define(eq=False)
class BroadcastTimer:
    """
    Times how long a change takes to reach every watching node: at a
    change, if none is being timed, until every node that watched then
    holds its version (the registry's C{settle}).
    """

    _state: RegistryState
    _hub: WatchHub
    _clock: Any
    histogram: Histogram = field(factory=lambda: Histogram(
        "micro_registry_broadcast_seconds", "From a change until every watching node holds it.", ()))
    _timing: bool = field(default=False, init=False)

    def __attrs_post_init__(self) -> None:
        self._state.on_change(self._changed)

    def _changed(self) -> None:
        if self._timing or not self._hub.watching():
            return
        self._timing = True
        started = self._clock.seconds()

        def seen(outcome: dict[str, Any]) -> None:
            self._timing = False
            if outcome.get("settled"):
                self.histogram.observe((), self._clock.seconds() - started)
        self._hub.settle(self._state.version, BROADCAST_TIMEOUT).addCallback(seen)


@define(eq=False)
class ClusterCalls:
    """
    The calls every node reports, added up per service, as Prometheus series.
    """

    _calls: ServiceMetrics

    def family(self) -> list[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        services = self._calls.summary()["services"]
        calls = CounterMetricFamily("micro_service_calls", "Calls served in the cluster (nodes' reports).",
                                    labels=["service"])
        errors = CounterMetricFamily("micro_service_call_errors", "Calls that failed, in the cluster.",
                                     labels=["service"])
        running = GaugeMetricFamily("micro_service_calls_in_flight", "Calls running in the cluster.",
                                    labels=["service"])
        for name, figures in services.items():
            calls.add_metric([name], figures["calls"])
            errors.add_metric([name], figures["errors"])
            running.add_metric([name], figures["in_flight"])
        durations = histogram_family(
            "micro_service_call_duration_seconds", "How long handlers took, in the cluster (no sum: nodes "
            "report buckets only).", ("service",), BOUNDS,
            (((name,), figures["buckets"], None) for name, figures in services.items()))
        return [calls, errors, running, durations]
