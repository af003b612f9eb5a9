"""
Everything observable switched on in a bench process: OpenTelemetry spans
(the SDK, every span sampled and handed to an exporter that drops it, so
that what is measured is recording, not shipping) and micro's metrics.
Importing this module does it; bench/echo_observed_app.py and load.py's
*-observed modes import it.  MICRO_BENCH_SAMPLE=0.01 samples 1 trace in
100 (ParentBased(TraceIdRatioBased)), as a production setup might.
"""

import os

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from micro._app.default import set_observability
from micro._kernel.observer import Observability


class Dropped(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


ratio = float(os.environ.get("MICRO_BENCH_SAMPLE", "1"))
provider = TracerProvider(sampler=ALWAYS_ON if ratio >= 1 else ParentBased(TraceIdRatioBased(ratio)))
provider.add_span_processor(SimpleSpanProcessor(Dropped()))
trace.set_tracer_provider(provider)
set_observability(Observability(metrics=True))
