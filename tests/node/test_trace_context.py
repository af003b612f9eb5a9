"""
The W3C trace context travels like the request id, with no OpenTelemetry
at work: a client's traceparent and tracestate pass through the front
door, calls (over HTTP and in-process) and pub/sub unchanged, and a
request that brings none gets one at the front door, shared by every hop.
"""

from __future__ import annotations

import json
from typing import Any

from micro.testing import MemoryCluster
from tests._memory import fetch

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _recording(seen: list[Any], tag: str) -> Any:
    def handler(payload: Any, ctx: Any) -> str:
        headers = ctx.request.headers
        seen.append((tag, ctx.trace_id, headers.get("traceparent"), headers.get("tracestate")))
        return ctx.trace_id
    return handler


def _chain(cluster: MemoryCluster, seen: list[Any]) -> None:
    front, back, listener = (cluster.node(home=f"http://{name}.test") for name in ("front", "back", "listener"))

    async def api(payload: Any, ctx: Any) -> dict[str, Any]:
        seen.append(("api", ctx.trace_id, ctx.request.headers.get("traceparent"), ctx.request.headers.get("tracestate")))
        await ctx.call("remote")
        await ctx.call("local")
        await ctx.publish("news", {})
        return {"trace": ctx.trace_id}

    async def on_news(message: Any, ctx: Any) -> None:
        seen.append(("news", ctx.trace_id, ctx.propagation.traceparent, ctx.propagation.tracestate))

    cluster.result(back.create_service(_recording(seen, "remote"), "remote"))
    cluster.result(front.create_service(_recording(seen, "local"), "local"))
    cluster.result(listener.pubsub.subscribe("news", on_news))
    cluster.result(front.create_route("/api/trace", api))


def test_a_clients_trace_context_passes_through_every_hop_unchanged(cluster: MemoryCluster) -> None:
    """
    traceparent and tracestate from the client reach the route's handler,
    a service on another node, one in the same process and a subscriber,
    byte for byte: no process here records spans, so none changes them.
    """
    seen: list[Any] = []
    _chain(cluster, seen)
    reply = fetch(cluster, b"GET", "/api/trace", headers={b"traceparent": PARENT.encode(), b"tracestate": b"v=1"})
    assert reply.code == 200
    assert sorted(seen) == sorted((tag, PARENT[3:35], PARENT, "v=1") for tag in ("api", "remote", "local", "news"))


def test_the_front_door_starts_a_trace_every_hop_shares(cluster: MemoryCluster) -> None:
    """
    A request without a traceparent gets one at the registry: one trace id
    (and one parent id) for all hops, a new one for the next request.
    """
    seen: list[Any] = []
    _chain(cluster, seen)
    first = json.loads(fetch(cluster, b"GET", "/api/trace").body)["trace"]
    assert {entry[1] for entry in seen} == {first} and len({entry[2] for entry in seen}) == 1
    assert {entry[3] for entry in seen} == {None}
    seen.clear()
    second = json.loads(fetch(cluster, b"GET", "/api/trace").body)["trace"]
    assert second != first and {entry[1] for entry in seen} == {second}


def test_a_call_outside_any_request_starts_a_trace_named_by_its_request_id(cluster: MemoryCluster) -> None:
    """
    call_service outside a request starts a trace whose id is its request id.
    """
    node, other = cluster.node(), cluster.node(home="http://other.test")
    ids: list[Any] = []
    cluster.result(node.create_service(lambda payload, ctx: ids.append((ctx.request_id, ctx.trace_id)), "probe"))
    cluster.result(other.ready())
    cluster.result(other.call("probe"))
    [(request_id, trace_id)] = ids
    assert request_id == trace_id and len(trace_id) == 32
