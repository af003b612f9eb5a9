"""
OpenTelemetry spans, recorded by the SDK's in-memory exporter: a call
greeting -> hello is one trace with a parent-child chain, route requests
have a SERVER span and a CLIENT child, pub/sub a PRODUCER and a CONSUMER,
a failover is an event on the call's span; and the spans ride on ctx,
never on OpenTelemetry's implicit context.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.task import deferLater

from micro._kernel.observer import Observability
from micro._kernel.propagation import Propagation
from micro._observe.tracing import Tracing, configured_tracing
from micro.testing import MemoryCluster
from tests._memory import fetch

sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="the test extra installs opentelemetry-sdk")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


_PROVIDERS: dict[int, Any] = {}


@pytest.fixture
def traced(exporter: InMemorySpanExporter) -> MemoryCluster:
    """
    A cluster whose registry and nodes record spans into C{exporter}.
    """
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    cluster = MemoryCluster()
    cluster.registry(tracer_provider=provider)
    _PROVIDERS[id(cluster)] = provider
    return cluster


def _node(cluster: MemoryCluster, home: str) -> Any:
    return cluster.node(home=home, tracer_provider=_PROVIDERS[id(cluster)])


def _by_name(exporter: InMemorySpanExporter) -> dict[str, Any]:
    return {span.name: span for span in exporter.get_finished_spans()}


def _hello(payload: Any) -> dict[str, str]:
    return {"message": "Hello, " + payload["name"]}


async def _greeting(payload: Any, ctx: Any) -> dict[str, str]:
    result = await ctx.call("hello", {"name": "World"})
    return {"message": result["message"] + " from micro!", "trace": ctx.trace_id}


def test_a_call_across_nodes_is_one_trace_of_parents_and_children(traced: MemoryCluster,
                                                                 exporter: InMemorySpanExporter) -> None:
    """
    call_service greeting -> ctx.call hello, each on its own node: four
    spans (CLIENT, SERVER, CLIENT, SERVER), one trace id, each the parent
    of the next; ctx.trace_id is that trace.
    """
    cluster = traced
    cluster.result(_node(cluster, "http://hello.test").create_service(_hello, "hello"))
    cluster.result(_node(cluster, "http://greeting.test").create_service(_greeting, "greeting"))
    caller = _node(cluster, "http://caller.test")
    cluster.result(caller.ready())
    result = cluster.result(caller.call("greeting", {}))

    spans = _by_name(exporter)
    chain = [spans["call greeting"], spans["greeting"], spans["call hello"], spans["hello"]]
    assert [span.kind for span in chain] == [SpanKind.CLIENT, SpanKind.SERVER] * 2
    assert {span.context.trace_id for span in chain} == {chain[0].context.trace_id}
    assert chain[0].parent is None
    for parent, child in zip(chain, chain[1:]):
        assert child.parent.span_id == parent.context.span_id
    assert result["trace"] == f"{chain[0].context.trace_id:032x}"
    assert chain[3].attributes["rpc.method"] == "hello" and chain[1].attributes["rpc.response.status_code"] == 200


def test_a_clients_traceparent_is_the_parent_of_the_route_span(traced: MemoryCluster,
                                                              exporter: InMemorySpanExporter) -> None:
    """
    A route request bringing a traceparent: the registry's SERVER span is
    its child (same trace), named after the method and the route pattern,
    with a CLIENT child, whose child is the instance's SERVER span.
    """
    cluster = traced
    cluster.result(_node(cluster, "http://api.test").create_route("/api/items/*", lambda payload: [1, 2]))
    reply = fetch(cluster, b"GET", "/api/items/42", headers={b"traceparent": PARENT.encode()})
    assert reply.code == 200
    spans = _by_name(exporter)
    server, client = [s for s in exporter.get_finished_spans() if s.name == "GET /api/items/*"]
    if server.kind is SpanKind.CLIENT:
        server, client = client, server
    handler = spans["route-api-items"]
    assert f"{server.context.trace_id:032x}" == PARENT[3:35]
    assert f"{server.parent.span_id:016x}" == PARENT[36:52] and server.parent.is_remote
    assert client.parent.span_id == server.context.span_id
    assert handler.parent.span_id == client.context.span_id
    assert server.attributes["http.route"] == "/api/items/*" and server.attributes["http.response.status_code"] == 200


def test_publish_and_process_spans(traced: MemoryCluster, exporter: InMemorySpanExporter) -> None:
    """
    ctx.publish makes a PRODUCER span under the handler's, and each
    subscriber's handler a CONSUMER span under it, in the same trace.
    """
    cluster = traced
    publisher, subscriber = _node(cluster, "http://pub.test"), _node(cluster, "http://sub.test")
    cluster.result(subscriber.pubsub.subscribe("orders.created", lambda message: None))

    async def order(payload: Any, ctx: Any) -> Any:
        return await ctx.publish("orders.created", payload)

    cluster.result(publisher.create_service(order))
    cluster.result(publisher.call("order", {"id": 1}))
    spans = _by_name(exporter)
    producer, consumer = spans["publish orders.created"], spans["process orders.created"]
    assert (producer.kind, consumer.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    assert producer.parent.span_id == spans["order"].context.span_id
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.context.trace_id == spans["call order"].context.trace_id


def test_a_failover_is_an_event_of_the_calls_span(traced: MemoryCluster, exporter: InMemorySpanExporter) -> None:
    """
    A call whose first instance is gone fails over: its CLIENT span has a
    failover event naming the instance and the reason, and ends well.
    """
    cluster = traced
    cluster.result(_node(cluster, "http://a.test").create_service(_hello, "hello"))
    cluster.result(_node(cluster, "http://b.test").create_service(_hello, "hello"))
    caller = _node(cluster, "http://caller.test")
    cluster.result(caller.ready())
    cluster.network.kill("a.test")  # gone, and the table does not know yet
    for _ in range(2):
        assert cluster.result(caller.call("hello", {"name": "x"})) == {"message": "Hello, x"}
    calls = [s for s in exporter.get_finished_spans() if s.name == "call hello"]
    events = [event for span in calls for event in span.events]
    assert [(e.name, e.attributes["micro.reason"]) for e in events] == [("failover", "refused")]
    assert events[0].attributes["server.address"].startswith("http://a.test:")


def test_failed_calls_mark_their_spans(traced: MemoryCluster, exporter: InMemorySpanExporter) -> None:
    """
    A handler that raises: the SERVER span is an error with its type, the
    CLIENT span too, with the status.
    """
    cluster = traced
    node = _node(cluster, "http://n.test")

    def broken(payload: Any) -> None:
        raise KeyError("nope")

    cluster.result(node.create_service(broken))
    other = _node(cluster, "http://o.test")
    cluster.result(other.ready())
    with pytest.raises(Exception):
        cluster.result(other.call("broken"))
    spans = _by_name(exporter)
    assert spans["broken"].status.is_ok is False and spans["broken"].attributes["error.type"] == "KeyError"
    assert spans["call broken"].attributes["rpc.response.status_code"] == 500


def test_spans_ride_on_ctx_across_callbacks_not_on_implicit_context(traced: MemoryCluster,
                                                                     exporter: InMemorySpanExporter) -> None:
    """
    A handler that waits on the clock before calling on: the call's span is
    still the child of the handler's, though no implicit context survived
    the wait.
    """
    cluster = traced
    node = _node(cluster, "http://n.test")
    cluster.result(node.create_service(_hello, "hello"))

    async def later(payload: Any, ctx: Any) -> Any:
        await deferLater(ctx.clock, 1, lambda: None)
        return await ctx.call("hello", {"name": "later"})

    cluster.result(node.create_service(later))
    d = node.call("later")
    cluster.advance(1)
    assert cluster.result(d) == {"message": "Hello, later"}
    spans = _by_name(exporter)
    assert spans["call hello"].parent.span_id == spans["later"].context.span_id


def test_without_a_tracer_provider_nothing_traces() -> None:
    """
    With no provider set (the API's proxy), micro records nothing and
    builds no observer at all; tracing=False turns it off even with one.
    """
    assert configured_tracing(None) is None
    assert configured_tracing(False, sdk.TracerProvider()) is None
    assert isinstance(configured_tracing(None, sdk.TracerProvider()), Tracing)
    cluster = MemoryCluster()
    cluster.registry()
    assert cluster.node().observer is None
    assert cluster.node(observability=Observability(tracing=False), tracer_provider=sdk.TracerProvider()).observer is None


def test_a_remote_parent_keeps_its_trace_and_tracestate(exporter: InMemorySpanExporter) -> None:
    """
    A span started under a traceparent from elsewhere joins its trace, and
    the context handed on names the new span, keeping tracestate.
    """
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = configured_tracing(None, provider)
    assert tracing is not None
    span, carried = tracing.start("x", "server", Propagation("r", PARENT, "k=v"), {})
    tracing.end(span, 200, {}, False)
    assert carried.traceparent.startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert carried.traceparent[36:52] == f"{span.get_span_context().span_id:016x}"
    assert (carried.tracestate, carried.span) == ("k=v", span)
    assert span.get_span_context().trace_state.get("k") == "v"


UNSAMPLED = PARENT[:-2] + "00"


def test_under_an_unsampled_parent_no_span_is_started(exporter: InMemorySpanExporter) -> None:
    """
    With the SDK's default sampler (ParentBased), a span under a parent
    that was not sampled would be dropped: micro starts none and hands the
    trace context on as it came.
    """
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = configured_tracing(None, provider)
    assert tracing is not None
    incoming = Propagation("r", UNSAMPLED, "k=v")
    span, carried = tracing.start("x", "server", incoming, {})
    assert (span, carried) == (None, incoming)
    assert carried.traceparent == UNSAMPLED
    sampled, _ = tracing.start("x", "server", Propagation("r", PARENT), {})
    tracing.end(sampled, 200, {}, False)
    assert [s.name for s in exporter.get_finished_spans()] == ["x"]


def test_a_sampler_that_records_unsampled_parents_is_asked(exporter: InMemorySpanExporter) -> None:
    """
    A sampler configured to record spans under unsampled parents gets its
    way: the shortcut applies only to the decision micro knows.
    """
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

    provider = sdk.TracerProvider(sampler=ParentBased(ALWAYS_ON, remote_parent_not_sampled=ALWAYS_ON))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = configured_tracing(None, provider)
    assert tracing is not None
    span, carried = tracing.start("x", "server", Propagation("r", UNSAMPLED), {})
    assert span is not None and span.is_recording()
    tracing.end(span, 200, {}, False)
    assert [s.name for s in exporter.get_finished_spans()] == ["x"]
    assert carried.traceparent[36:52] == f"{span.get_span_context().span_id:016x}"


def test_a_trace_not_sampled_at_its_root_records_nothing_downstream(exporter: InMemorySpanExporter) -> None:
    """
    A root sampler that drops every trace: the call greeting -> hello
    records no span in any process, and still carries one trace id.
    """
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = sdk.TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.0)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    cluster = MemoryCluster()
    cluster.registry(tracer_provider=provider)
    _PROVIDERS[id(cluster)] = provider
    cluster.result(_node(cluster, "http://hello.test").create_service(_hello, "hello"))
    cluster.result(_node(cluster, "http://greeting.test").create_service(_greeting, "greeting"))
    caller = _node(cluster, "http://caller.test")
    cluster.result(caller.ready())
    result = cluster.result(caller.call("greeting", {}))
    assert result["message"] == "Hello, World from micro!"
    assert len(result["trace"]) == 32 and result["trace"] != "0" * 32
    assert exporter.get_finished_spans() == ()


def test_a_ratio_sampler_decides_a_root_on_the_request_s_own_trace_id(exporter: InMemorySpanExporter) -> None:
    """
    Under ParentBased(TraceIdRatioBased(0.5)), a trace micro starts is
    sampled when the low 64 bits of its trace id fall in the lower half
    (the SDK's rule): a sampled one is recorded under that very trace id;
    another is not started, and hands on its context marked unsampled.
    """
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = sdk.TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.5)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = configured_tracing(None, provider)
    assert tracing is not None
    low, high = "1" * 16 + "0" * 16, "0" * 16 + "f" * 16
    kept, carried = tracing.start("kept", "client", Propagation(low, f"00-{low}-{'a' * 16}-01", None, True), {})
    tracing.end(kept, 200, {}, False)
    dropped, passed = tracing.start("dropped", "client", Propagation(high, f"00-{high}-{'a' * 16}-01", None, True), {})
    assert [(s.name, f"{s.context.trace_id:032x}", s.parent) for s in exporter.get_finished_spans()] == [
        ("kept", low, None)]
    assert int(carried.traceparent[-2:], 16) & 1 and carried.trace_id == low  # sampled
    assert dropped is None and passed.traceparent == f"00-{high}-{'a' * 16}-00"
