"""
Request ids travel with a request through the cluster: taken from the
client's X-Request-Id or made at the front door, seen as ctx.request_id,
carried by ctx.call (over HTTP and in-process) and ctx.publish, named in
the route's reply and in micro's log lines about the request.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.logger import capturedLogs

from micro._kernel.protocol import REQUEST_ID_HEADER
from micro.testing import MemoryCluster
from tests._memory import fetch


def _is_new_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 32 and int(value, 16) >= 0


def _seen_by(log: list[Any]) -> Any:
    def inner(payload: Any, ctx: Any) -> dict[str, Any]:
        log.append((ctx.request_id, ctx.request.headers.get("x-request-id")))
        return {"inner": ctx.request_id}
    return inner


def test_the_clients_request_id_travels_from_the_front_door_through_calls(cluster: MemoryCluster) -> None:
    """
    A route request with X-Request-Id: its handler, a service it calls on
    another node and one it calls in its own process all see that id, and
    the client's reply names it.
    """
    front, back = cluster.node(home="http://front.test"), cluster.node(home="http://back.test")
    seen: list[Any] = []

    async def api(payload: Any, ctx: Any) -> dict[str, Any]:
        seen.append(("api", ctx.request_id))
        await ctx.call("remote", {})
        await ctx.call("local", {})
        return {"id": ctx.request_id}

    cluster.result(back.create_service(_seen_by(seen), "remote"))
    cluster.result(front.create_service(_seen_by(seen), "local"))
    cluster.result(front.create_route("/api/ids", api))
    reply = fetch(cluster, b"GET", "/api/ids", headers={b"x-request-id": b"abc-123"})
    assert reply.code == 200 and json.loads(reply.body) == {"id": "abc-123"}
    assert reply.header(REQUEST_ID_HEADER) == b"abc-123"
    assert seen == [("api", "abc-123"), ("abc-123", "abc-123"), ("abc-123", "abc-123")]


def test_the_front_door_makes_an_id_for_a_request_without_one(cluster: MemoryCluster) -> None:
    """
    Without X-Request-Id (or with a malformed one), the registry makes one:
    the handler sees it and the reply names it; each request gets its own.
    """
    node = cluster.node()
    cluster.result(node.create_route("/api/id", lambda payload, ctx: {"id": ctx.request_id}))
    first = fetch(cluster, b"GET", "/api/id")
    second = fetch(cluster, b"GET", "/api/id", headers={b"x-request-id": b"bad id"})
    ids = [json.loads(first.body)["id"], json.loads(second.body)["id"]]
    assert all(_is_new_id(i) for i in ids) and ids[0] != ids[1]
    assert [first.header(REQUEST_ID_HEADER), second.header(REQUEST_ID_HEADER)] == [i.encode() for i in ids]


def test_refused_route_requests_name_their_id_too(cluster: MemoryCluster) -> None:
    """
    A 404 from the front door carries the request id the client can quote.
    """
    reply = fetch(cluster, b"GET", "/nowhere", headers={b"x-request-id": b"lost-1"})
    assert (reply.code, reply.header(REQUEST_ID_HEADER)) == (404, b"lost-1")


def test_a_call_outside_any_request_starts_one(cluster: MemoryCluster) -> None:
    """
    node.call (call_service) gives each call a new id; a call made by a
    handler with ctx.call keeps its own.
    """
    node = cluster.node()
    seen: list[Any] = []
    cluster.result(node.create_service(_seen_by(seen), "inner"))
    remote = cluster.node(home="http://other.test")
    cluster.result(remote.ready())
    cluster.result(remote.call("inner"))
    cluster.result(remote.call("inner"))
    assert all(_is_new_id(i) and i == header for i, header in seen) and seen[0] != seen[1]


def test_the_registry_call_command_passes_the_id_on(cluster: MemoryCluster) -> None:
    """
    {"call": ...} POSTed to the registry with X-Request-Id reaches the
    service with that id.
    """
    node = cluster.node()
    seen: list[Any] = []
    cluster.result(node.create_service(_seen_by(seen), "inner"))
    reply = fetch(cluster, b"POST", "/", b'{"call": {"service": "inner"}}',
                  {b"content-type": b"application/json", b"x-request-id": b"cmd-9"})
    assert json.loads(reply.body) == {"inner": "cmd-9"} and seen == [("cmd-9", "cmd-9")]


def test_a_publish_carries_the_id_to_every_handler(cluster: MemoryCluster) -> None:
    """
    ctx.publish from a service: each subscriber's handler, in another
    process, sees the publisher's request id, and a call it makes carries
    it on.
    """
    publisher, subscriber = cluster.node(home="http://pub.test"), cluster.node(home="http://sub.test")
    seen: list[Any] = []

    async def handler(message: Any, ctx: Any) -> None:
        seen.append(("handler", ctx.request_id))
        await ctx.call("inner")

    cluster.result(subscriber.pubsub.subscribe("orders", handler))
    cluster.result(subscriber.create_service(_seen_by(seen), "inner"))

    async def ordering(payload: Any, ctx: Any) -> Any:
        return await ctx.publish("orders", payload)

    cluster.result(publisher.create_service(ordering))
    reply = fetch(cluster, b"POST", "/", b'{"call": {"service": "ordering", "payload": 1}}',
                  {b"content-type": b"application/json", b"x-request-id": b"order-1"})
    assert reply.code == 200 and json.loads(reply.body)["errors"] == []
    assert seen == [("handler", "order-1"), ("order-1", "order-1")]


def test_log_lines_about_a_failed_request_name_its_id(cluster: MemoryCluster) -> None:
    """
    A service that crashes logs its traceback with the request id and the trace id.
    """
    node = cluster.node()

    def crash(payload: Any) -> None:
        raise RuntimeError("boom")

    cluster.result(node.create_route("/api/crash", crash))
    with capturedLogs() as events:
        reply = fetch(cluster, b"GET", "/api/crash", headers={
            b"x-request-id": b"crash-5", b"traceparent": b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    assert reply.code == 500
    failures = [e for e in events if e.get("service") == "crash" and "log_failure" in e]
    assert [(e["request_id"], e["trace_id"]) for e in failures] == [("crash-5", "4bf92f3577b34da6a3ce929d0e0e4736")]
    assert "(request {request_id}, trace {trace_id})" in failures[0]["log_format"]


def test_in_process_calls_carry_the_id_as_headers_would(cluster: MemoryCluster) -> None:
    """
    ctx.request.headers of an in-process call hold the request id, as over HTTP.
    """
    node = cluster.node()
    seen: list[Any] = []
    cluster.result(node.create_service(_seen_by(seen), "inner"))

    async def outer(payload: Any, ctx: Any) -> Any:
        return await ctx.call("inner")

    cluster.result(node.create_service(outer))
    result = cluster.result(node.call("outer"))
    assert seen == [(result["inner"], result["inner"])] and _is_new_id(result["inner"])
