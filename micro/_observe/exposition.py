# -*- test-case-name: tests.observe.test_exposition -*-
"""
A process's metrics as Prometheus reads them: the families of micro's
own recorders and the process collectors of prometheus-client, rendered
in the text format a scrape asks for (Prometheus' or OpenMetrics).

The page is rendered on the reactor thread, in the request that asks for
it: the collectors read micro's state (tables, watches, counters), which
only the reactor thread may touch.  prometheus-client's own Twisted
C{MetricsResource} would render it in a thread of the global reactor's
pool, racing the reactor over that state.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from attrs import define, field

from micro._kernel.errors import HttpError

EXTRA = "metrics"
MISSING = ("metrics need prometheus-client, which is not installed here: "
           "pip install 'txmicro[metrics]'")


def metrics_available() -> bool:
    """
    Whether prometheus-client can be imported.
    """
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


@define(eq=False)
class MetricSet:
    """
    The metrics a process serves at C{/_micro/metrics}: objects with a
    C{family()} (see L{micro._observe.recorder}), and the process collectors.
    """

    metrics: list[Any] = field(factory=list)
    _registry: Any = field(default=None, init=False)

    def add(self, *metrics: Any) -> None:
        self.metrics.extend(metrics)

    def collect(self) -> Iterator[Any]:
        for metric in self.metrics:
            family = metric.family()
            if isinstance(family, list):
                yield from family
            else:
                yield family

    def render(self, accept: bytes | None) -> tuple[bytes, bytes]:
        """
        The page and its content type, in the format C{accept} prefers.

        @raise HttpError: 501 if prometheus-client is missing.
        """
        try:
            from prometheus_client.exposition import choose_encoder
        except ImportError:
            raise HttpError(501, MISSING) from None
        encoder, content_type = choose_encoder((accept or b"").decode("latin-1"))
        return encoder(self._collectors()), content_type.encode("ascii")

    def _collectors(self) -> Any:
        if self._registry is None:
            from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

            registry = CollectorRegistry(auto_describe=False)
            registry.register(_Families(self))
            for collector in (ProcessCollector, PlatformCollector, GCCollector):
                collector(registry=registry)
            self._registry = registry
        return self._registry


@define(eq=False)
class _Families:
    """
    The collector prometheus-client calls on every scrape.
    """

    _metrics: MetricSet

    def collect(self) -> Iterable[Any]:
        return list(self._metrics.collect())
