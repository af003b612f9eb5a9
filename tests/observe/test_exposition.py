"""
The metrics page: micro's families and the process collectors, in the
format the scraper asks for; a clear 501 without prometheus-client.
"""

from __future__ import annotations

import builtins
from typing import Any

import pytest

from micro._kernel.errors import HttpError
from micro._observe.exposition import MISSING, MetricSet, metrics_available
from micro._observe.recorder import Gauge


def test_text_and_openmetrics() -> None:
    """
    Prometheus text by default, OpenMetrics when accepted; the process
    collectors are there too.
    """
    metrics = MetricSet([Gauge("micro_things", "things", (), lambda: 3)])
    body, content_type = metrics.render(None)
    assert content_type.startswith(b"text/plain") and b"micro_things 3.0" in body
    assert b"process_cpu_seconds_total" in body and b"python_gc_objects_collected_total" in body
    body, content_type = metrics.render(b"application/openmetrics-text; version=1.0.0")
    assert content_type.startswith(b"application/openmetrics-text") and body.endswith(b"# EOF\n")


def test_without_prometheus_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Hidden prometheus-client: not available, and rendering is a 501 that
    says how to install it.
    """
    real_import = builtins.__import__

    def hiding(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("prometheus_client"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", hiding)
    assert not metrics_available()
    with pytest.raises(HttpError) as raised:
        MetricSet().render(None)
    assert raised.value.status == 501 and raised.value.message == MISSING
    assert "txmicro[metrics]" in MISSING
