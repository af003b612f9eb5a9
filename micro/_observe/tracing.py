# -*- test-case-name: tests.observe.test_tracing -*-
"""
OpenTelemetry spans for micro's calls, route requests and messages.

Only the API (C{opentelemetry-api}, the extra C{otel}) is used: a program
installs the SDK and an exporter, and sets its tracer provider, before it
builds its node or registry (at import of its app module, for twistd).

Spans are started with an explicit parent, taken from the request's
L{Propagation}: the span this process recorded for it (C{span}), else the
remote parent its C{traceparent} names, else none (a trace micro starts
here).  OpenTelemetry's implicit context is never read or set: it rides on
C{contextvars}, which Twisted does not carry through plain callbacks.
"""

from __future__ import annotations

from typing import Any

from attrs import define

from micro._kernel.propagation import Propagation


def configured_tracing(wanted: bool | None, provider: Any = None) -> Tracing | None:
    """
    The tracing this process does: C{None} unless opentelemetry-api is
    installed and either C{wanted} is true or a tracer provider was set
    (C{provider}, else the global one).
    """
    if wanted is False:
        return None
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    if provider is None:
        provider = trace.get_tracer_provider()
        if not wanted and isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
            return None
    return Tracing(provider.get_tracer("micro", _version()))


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("txmicro")
    except PackageNotFoundError:
        return None


@define(eq=False)
class Tracing:
    """
    Starts and ends spans on one tracer.
    """

    _tracer: Any

    def start(self, name: str, kind: str, propagation: Propagation,
              attributes: dict[str, Any]) -> tuple[Any, Propagation]:
        """
        A span of C{kind} (C{"client"}, C{"server"}, C{"producer"},
        C{"consumer"}) under the parent C{propagation} names, and the
        context that makes it the parent of the next hop.
        """
        from opentelemetry.trace import SpanKind

        span = self._tracer.start_span(name, context=_parent(propagation), kind=SpanKind[kind.upper()],
                                       attributes=attributes)
        context = span.get_span_context()
        if not context.is_valid:
            return span, propagation
        traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
        return span, propagation.with_span(traceparent, span)

    @staticmethod
    def end(span: Any, status: int, attributes: dict[str, Any], error: bool) -> None:
        """
        End C{span}, marked as an error if C{error}.
        """
        from opentelemetry.trace import Status, StatusCode

        span.set_attributes(attributes)
        if error:
            span.set_status(Status(StatusCode.ERROR, f"status {status}"))
        span.end()

    @staticmethod
    def event(span: Any, name: str, attributes: dict[str, Any]) -> None:
        span.add_event(name, attributes)


def _parent(propagation: Propagation) -> Any:
    """
    The OpenTelemetry context holding the parent of a span for this request.
    """
    from opentelemetry import trace
    from opentelemetry.context import Context

    if propagation.span is not None:
        return trace.set_span_in_context(propagation.span, Context())
    if propagation.made_here or propagation.traceparent is None:
        return Context()  # a root: not the implicit current context
    _, trace_id, span_id, flags = propagation.traceparent.split("-")
    state = trace.TraceState.from_header([propagation.tracestate]) if propagation.tracestate else None
    remote = trace.SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True,
                               trace_flags=trace.TraceFlags(int(flags, 16)), trace_state=state)
    return trace.set_span_in_context(trace.NonRecordingSpan(remote), Context())
