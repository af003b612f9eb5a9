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

Spans cost: the SDK spends tens of microseconds on each one it records,
and about ten on one it decides not to.  A sampled-down production setup
(a C{ParentBased} sampler, the SDK's default) decides once per trace, at
its root; every later hop of an unsampled trace would only be told "not
sampled" again, so micro does not ask: it passes the trace context on as
it came (what the SDK's non-recording span would hand on too).  At the
root, a ratio sampler's decision depends only on the trace id: micro
takes it on the id it made for the request, and has the SDK record the
sampled traces under that same id (so the trace id is the request id).
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
    tracer = provider.get_tracer("micro", _version())
    return Tracing(tracer, _Api(), _drops_unsampled_parents(provider), _RootIds.install(tracer, provider))


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("txmicro")
    except PackageNotFoundError:
        return None


def _drops_unsampled_parents(provider: Any) -> bool:
    """
    Whether C{provider}'s sampler is known to record nothing under a parent
    that was not sampled: the SDK's C{ParentBased} with its default
    delegates for such parents.  Any other sampler (or provider) is asked.
    """
    try:
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
    except ImportError:
        return False
    sampler = getattr(provider, "sampler", None)
    return (type(sampler) is ParentBased
            and getattr(sampler, "_remote_parent_not_sampled", None) is ALWAYS_OFF
            and getattr(sampler, "_local_parent_not_sampled", None) is ALWAYS_OFF)


class _RootIds:
    """
    The trace ids an SDK tracer gives the roots it starts: the next one
    micro names, else the tracer's own generator's.

    @ivar bound: Trace ids whose low 64 bits are below it are sampled at
        the root (the SDK's C{TraceIdRatioBased} rule).
    """

    _LOW_BITS = (1 << 64) - 1

    def __init__(self, generator: Any, bound: int):
        self._generator = generator
        self.bound = bound
        self.next: int | None = None

    @classmethod
    def install(cls, tracer: Any, provider: Any) -> _RootIds | None:
        """
        Take over C{tracer}'s root trace ids if its provider samples roots
        by ratio under C{ParentBased}; else C{None}.
        """
        try:
            from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
        except ImportError:
            return None
        root = getattr(getattr(provider, "sampler", None), "_root", None)
        generator = getattr(tracer, "id_generator", None)
        if not _drops_unsampled_parents(provider) or type(root) is not TraceIdRatioBased or generator is None:
            return None
        tracer.id_generator = ids = cls(generator, root.bound)
        return ids

    def sampled(self, trace_id: int) -> bool:
        return trace_id & self._LOW_BITS < self.bound

    def generate_trace_id(self) -> int:
        trace_id, self.next = self.next, None
        return self._generator.generate_trace_id() if trace_id is None else trace_id

    def generate_span_id(self) -> int:
        return self._generator.generate_span_id()  # type: ignore[no-any-return]

    def is_trace_id_random(self) -> bool:
        return getattr(self._generator, "is_trace_id_random", lambda: True)()


class _Api:
    """
    The OpenTelemetry names micro uses, imported once (the API is an
    optional extra, so this module cannot import it at its top).
    """

    def __init__(self) -> None:
        from opentelemetry import trace
        from opentelemetry.context import Context

        self.trace = trace
        self.Context = Context
        self.kinds = {kind.name.lower(): kind for kind in trace.SpanKind}
        self.error = trace.StatusCode.ERROR
        self.Status = trace.Status


@define(eq=False)
class Tracing:
    """
    Starts and ends spans on one tracer.

    @ivar _skip_unsampled: Whether a span under an unsampled parent is
        known to be dropped, so need not be started (see the module).
    """

    _tracer: Any
    _api: _Api
    _skip_unsampled: bool = False
    _root_ids: _RootIds | None = None

    def start(self, name: str, kind: str, propagation: Propagation,
              attributes: dict[str, Any]) -> tuple[Any, Propagation]:
        """
        A span of C{kind} (C{"client"}, C{"server"}, C{"producer"},
        C{"consumer"}) under the parent C{propagation} names, and the
        context that makes it the parent of the next hop.  The span is
        C{None} where none would be recorded, and the context is then the
        one given, passed on unchanged.
        """
        parent = propagation.traceparent
        if parent is not None:
            if propagation.made_here and propagation.span is None and self._root_ids is not None:
                trace_id = int(parent[3:35], 16)
                if not self._root_ids.sampled(trace_id):
                    return None, Propagation(propagation.request_id, parent[:-2] + "00", propagation.tracestate, True)
                self._root_ids.next = trace_id
            elif self._skip_unsampled and not propagation.made_here and parent[-1] in "02468ace":
                return None, propagation  # trace flags without the sampled bit
        span = self._tracer.start_span(name, context=self._parent(propagation), kind=self._api.kinds[kind],
                                       attributes=attributes)
        if self._root_ids is not None:
            self._root_ids.next = None  # taken by a root, or not wanted (a tracer switched off)
        context = span.get_span_context()
        if not context.is_valid:
            return span, propagation
        return span, propagation.with_span(
            f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}", span)

    def end(self, span: Any, status: int, attributes: dict[str, Any], error: bool) -> None:
        """
        End C{span}, marked as an error if C{error}.
        """
        if span.is_recording():
            span.set_attributes(attributes)
            if error:
                span.set_status(self._api.Status(self._api.error, f"status {status}"))
        span.end()

    @staticmethod
    def event(span: Any, name: str, attributes: dict[str, Any]) -> None:
        span.add_event(name, attributes)

    def _parent(self, propagation: Propagation) -> Any:
        """
        The OpenTelemetry context holding the parent of a span for this
        request.
        """
        trace, context = self._api.trace, self._api.Context
        if propagation.span is not None:
            return trace.set_span_in_context(propagation.span, context())
        if propagation.made_here or propagation.traceparent is None:
            return context()  # a root: not the implicit current context
        _, trace_id, span_id, flags = propagation.traceparent.split("-")
        state = trace.TraceState.from_header([propagation.tracestate]) if propagation.tracestate else None
        remote = trace.SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True,
                                   trace_flags=trace.TraceFlags(int(flags, 16)), trace_state=state)
        return trace.set_span_in_context(trace.NonRecordingSpan(remote), context())
