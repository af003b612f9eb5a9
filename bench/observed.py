"""
Everything observable switched on in a bench process: OpenTelemetry spans
(the SDK, every span sampled and handed to an exporter that drops it, so
that what is measured is recording, not shipping) and micro's metrics.
Importing this module does it; bench/echo_observed_app.py and load.py's
*-observed modes import it.
"""

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from micro._app.default import set_observability
from micro._kernel.observer import Observability


class Dropped(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(Dropped()))
trace.set_tracer_provider(provider)
set_observability(Observability(metrics=True))
