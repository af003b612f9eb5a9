"""
Routes at the registry, in memory: commands, matching, proxying, failures
and the routes' life with the nodes that declared them.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.logger import capturedLogs

from micro import HttpError, Response
from micro._http.client import FullResponse
from micro._kernel.codec import loads
from micro.testing import REGISTRY_URL, MemoryCluster
from tests._memory import fetch, routes_of


def command(cluster: MemoryCluster, document: Any, token: str | None = None) -> Any:
    return cluster.result(cluster.node(home="http://admin.test", token=token).registry_client.command(*document.popitem()))


def echo(payload: Any, ctx: Any) -> dict[str, Any]:
    request = ctx.request
    return {"method": request.method, "path": request.path, "url": request.url, "payload": payload}


def test_register_command_adds_a_pinned_route(cluster: MemoryCluster) -> None:
    """
    The seed's register command stores a route that then answers requests.
    """
    node = cluster.node()
    cluster.result(node.create_service(echo))
    reply = command(cluster, {"register": {"type": "route", "service": "echo", "path": "/api/echo",
                                           "dataType": "application/json"}})
    assert reply == {"route": "/api/echo", "service": "echo", "dataType": "application/json"}
    assert loads(fetch(cluster, b"GET", "/api/echo").body)["path"] == "/api/echo"
    assert command(cluster, {"routes": True}) == [{"path": "/api/echo", "service": "echo",
                                                  "dataType": "application/json"}]


@pytest.mark.parametrize("argument, why", [
    ({"type": "route", "service": "s", "path": "no-slash"}, "must start with '/'"),
    ({"type": "route", "service": "s", "path": "/a b"}, "whitespace"),
    ({"type": "route", "service": "s", "path": "/a\x01"}, "control"),
    ({"type": "route", "service": "s"}, "needs 'path'"),
    ({"type": "route", "path": "/x"}, "service name must be a string"),
    ({"type": "route", "service": "s", "path": "/x", "dataType": "html"}, "dataType"),
    ({"type": "routes", "service": "s", "path": "/x"}, "type must be one of: route, service"),
])
def test_bad_route_registrations_are_400(cluster: MemoryCluster, argument: dict[str, Any], why: str) -> None:
    """
    Route registrations with a bad path, service or data type are refused with a 400 saying why.
    """
    with pytest.raises(HttpError) as caught:
        command(cluster, {"register": argument})
    assert caught.value.status == 400
    assert why in caught.value.message


def test_unregister_removes_a_route_and_404s_an_unknown_one(cluster: MemoryCluster) -> None:
    """
    Unregistering a route makes its path a 404; unregistering it again is a 404.
    """
    command(cluster, {"register": {"type": "route", "service": "s", "path": "/x"}})
    assert command(cluster, {"unregister": {"type": "route", "path": "/x"}}) == {"unregistered": "/x", "removed": True}
    assert fetch(cluster, b"GET", "/x").code == 404
    with pytest.raises(HttpError) as caught:
        command(cluster, {"unregister": {"type": "route", "path": "/x"}})
    assert caught.value.status == 404


def test_no_route_is_404_json_listing_routes_only_in_development(cluster: MemoryCluster) -> None:
    """
    An unmatched path is a JSON 404; in development mode it also lists the routes.
    """
    stack = cluster.stacks[0]
    command(cluster, {"register": {"type": "route", "service": "s", "path": "/x/*"}})
    reply = fetch(cluster, b"GET", "/nowhere?q=1")
    assert reply.code == 404
    assert reply.header(b"content-type") == b"application/json"
    assert loads(reply.body) == {"error": "no route matches /nowhere", "status": 404}
    assert stack.routes is not None
    stack.proxy.development = True
    assert loads(fetch(cluster, b"GET", "/nowhere").body)["routes"] == [
        {"path": "/x/*", "service": "s", "dataType": "dynamic"}]


def test_route_without_live_instance_is_503_at_once(cluster: MemoryCluster) -> None:
    """
    A route to a service with no instance answers 503 without waiting for anything.
    """
    command(cluster, {"register": {"type": "route", "service": "ghost", "path": "/ghost"}})
    d = cluster._http().request(b"POST", f"{REGISTRY_URL}/ghost".encode(), b"x" * 300_000)
    cluster.settle()  # moves bytes only: no time passes
    reply = cluster.result(d)
    assert reply.code == 503
    assert "'ghost', which has no live instance" in loads(reply.body)["error"]


def test_service_error_keeps_its_status_through_the_route(cluster: MemoryCluster) -> None:
    """
    An HttpError raised by a route's handler reaches the HTTP client with its status and message.
    """
    def teapot(payload: Any) -> None:
        raise HttpError(418, "I'm a teapot")

    cluster.result(cluster.node().create_route("/tea", teapot))
    reply = fetch(cluster, b"GET", "/tea")
    assert reply.code == 418
    assert loads(reply.body) == {"error": "I'm a teapot", "status": 418}


def test_status_and_headers_of_a_response_come_back(cluster: MemoryCluster) -> None:
    """
    A handler's Response status, headers and content type reach the client unchanged.
    """
    cluster.result(cluster.node().create_route(
        "/made", lambda payload: Response("<b>new</b>", status=201, headers={"Location": "/made/1"})))
    reply = fetch(cluster, b"POST", "/made", b"{}")
    assert (reply.code, reply.body) == (201, b"<b>new</b>")
    assert reply.header(b"location") == b"/made/1"
    assert reply.header(b"content-type") == b"text/html; charset=utf-8"
    assert reply.header(b"x-content-type-options") == b"nosniff"
    # The length comes through as Content-Length, not as a chunked body.
    response = cluster.result(cluster._http().response(b"GET", f"{REGISTRY_URL}/made".encode()))
    assert response.length == 10


def test_head_gets_headers_without_body(cluster: MemoryCluster) -> None:
    """
    A HEAD request through a route gets the status and length but no body.
    """
    cluster.result(cluster.node().create_route("/page", lambda payload: "<p>" + "x" * 100 + "</p>"))
    reply = fetch(cluster, b"HEAD", "/page")
    assert (reply.code, reply.body) == (200, b"")
    assert reply.header(b"content-length") == b"107"


def test_head_requests_log_nothing(cluster: MemoryCluster) -> None:
    """
    HEAD through a route, an error reply or a route that does not exist:
    no log line per request (Twisted warns for every HEAD that renders a
    body), and the length of the body that was left out.
    """
    node = cluster.node()
    cluster.result(node.create_route("/page", lambda payload: "<p>hello</p>"))

    def forbidden(payload: Any) -> None:
        raise HttpError(403, "no")

    cluster.result(node.create_route("/secret", forbidden))
    with capturedLogs() as events:
        replies = [fetch(cluster, b"HEAD", path) for path in ("/page", "/secret", "/nowhere")]
    assert [(r.code, r.body) for r in replies] == [(200, b""), (403, b""), (404, b"")]
    assert [r.header(b"content-length") for r in replies[:2]] == [b"12", b'%d' % len(b'{"error":"no","status":403}')]
    assert [e for e in events if "HEAD" in str(e.get("log_format", ""))] == []


def test_forwarded_headers_set_and_token_and_hop_headers_dropped() -> None:
    """
    The service sees X-Forwarded-* and the client's own headers, but never
    the registry token nor hop-by-hop headers.
    """
    cluster = MemoryCluster()
    cluster.registry(token="s3cret")
    node = cluster.node(token="s3cret")
    cluster.result(node.create_route("/who", lambda payload, ctx: ctx.request.headers))
    seen = loads(fetch(cluster, b"GET", "/who", headers={
        b"micro-registry-token": b"s3cret", b"x-forwarded-for": b"203.0.113.9", b"connection": b"x-private",
        b"x-private": b"1", b"keep-alive": b"timeout=5", b"x-custom": b"kept", b"host": b"example.test",
    }).body)
    assert "micro-registry-token" not in seen
    assert "x-private" not in seen and "keep-alive" not in seen
    assert seen["x-custom"] == "kept"
    assert seen["x-forwarded-for"] == "203.0.113.9, 10.0.0.1"
    assert seen["x-forwarded-host"] == "example.test"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-micro-route"] == "dynamic"


def test_route_registration_needs_the_token() -> None:
    """
    With a registry token, registering a route without it is a 401.
    """
    cluster = MemoryCluster()
    cluster.registry(token="s3cret")
    with pytest.raises(HttpError) as caught:
        command(cluster, {"register": {"type": "route", "service": "s", "path": "/x"}})
    assert caught.value.status == 401
    command(cluster, {"register": {"type": "route", "service": "s", "path": "/x"}}, token="s3cret")


def test_unreachable_instance_is_skipped(cluster: MemoryCluster) -> None:
    """
    With one instance gone without unregistering, every request still lands on the live one.
    """
    node = cluster.node()
    cluster.result(node.create_route("/echo", echo))
    dead = cluster.result(node.create_service(echo))
    assert dead.port is not None and dead.site is not None
    cluster.result(dead.port.stopListening())  # gone, but still registered
    cluster.drop_connections(dead.location)  # the registry's, from its location probe, too
    replies = [fetch(cluster, b"POST", "/echo", b'{"n": %d}' % n) for n in range(4)]
    assert [r.code for r in replies] == [200] * 4
    assert [loads(r.body)["payload"] for r in replies] == [{"n": n} for n in range(4)]


def test_slow_instance_times_out_with_504(cluster: MemoryCluster) -> None:
    """
    An instance that does not reply within the route timeout gets the client a 504.
    """
    never: Deferred[None] = Deferred()
    cluster.result(cluster.node().create_route("/slow", lambda payload: never))
    outcome: list[FullResponse] = []
    cluster._http().request(b"GET", f"{REGISTRY_URL}/slow".encode()).addCallback(outcome.append)
    cluster.settle()
    for _ in range(29):
        cluster.advance(1)  # in steps, so that leases are renewed meanwhile
    assert outcome == []
    cluster.advance(2)
    [reply] = outcome
    assert reply.code == 504
    assert "no reply" in loads(reply.body)["error"]


def test_a_dead_nodes_routes_go_with_it(cluster: MemoryCluster) -> None:
    """
    When the node that declared a route is evicted, the route goes, unless
    another live node declared it too.
    """
    stack = cluster.stacks[0]
    first, second = cluster.node(), cluster.node(home="http://second.test")
    cluster.result(first.create_route("/only", echo))
    cluster.result(first.create_route("/shared", echo))
    cluster.result(second.create_route("/shared", "echo"))
    stack.state.evict(first.id, "test")
    assert routes_of(stack) == {"/shared": "echo"}
    stack.state.evict(second.id, "test")
    assert routes_of(stack) == {}


def test_routes_come_back_when_the_node_rejoins(cluster: MemoryCluster) -> None:
    """
    A node that the registry forgot while it lived declares its routes
    again when it rejoins (as after a registry restart).
    """
    stack = cluster.stacks[0]
    node = cluster.node()
    cluster.result(node.create_route("/api/users", lambda payload: {"users": ["Alice"]}))
    stack.state.evict(node.id, "test")
    assert routes_of(stack) == {}
    cluster.settle()
    assert routes_of(stack) == {"/api/users": "route-api-users"}
    assert loads(fetch(cluster, b"GET", "/api/users").body) == {"users": ["Alice"]}


def test_running_route_requests_hold_back_terminate(cluster: MemoryCluster) -> None:
    """
    A route request in progress counts as running: terminate waits for it
    and the client still gets its reply.
    """
    release: Deferred[str] = Deferred()
    route = cluster.result(cluster.node().create_route("/wait", lambda payload: release))
    assert route.instance is not None
    d = cluster._http().request(b"GET", f"{REGISTRY_URL}/wait".encode())
    cluster.settle()
    assert route.instance.in_flight == 1
    stopping = cluster.run(route.terminate())
    cluster.advance(1)
    assert not stopping.called
    release.callback("done")
    cluster.settle()
    assert cluster.result(d).body == b"done"
    cluster.advance(1)
    assert stopping.called and route.instance.in_flight == 0


def test_a_site_that_buffers_bodies_still_proxies_routes(cluster: MemoryCluster) -> None:
    """
    Served by a plain Site (which reads the body before rendering), the
    registry's resource still proxies route requests, body included.
    """
    from treq.testing import StubTreq

    cluster.result(cluster.node().create_route("/echo", echo))
    stub = StubTreq(cluster.stacks[0].resource)
    d = stub.put("http://registry.test/echo?x=1", data=b'{"a": 2}', headers={"content-type": "application/json"})
    for _ in range(3):
        cluster.settle()
        stub.flush()
    response = cluster.result(d)
    body = cluster.result(stub.json_content(response))
    assert response.code == 200
    assert body == {"method": "PUT", "path": "/echo", "url": "/echo?x=1", "payload": {"a": 2}}


def test_development_mode_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Registries started in-process or by twistd list routes on a 404 only with MICRO_ENV=development.
    """
    from twisted.internet.testing import MemoryReactorClock

    from micro._registry.server import start_registry
    from micro._twistd import registry_tap as _registry_tap

    for environment, expected in (("development", True), ("", False)):
        monkeypatch.setenv("MICRO_ENV", environment)
        server = start_registry(MemoryReactorClock(), "http://127.0.0.1:0")
        options = _registry_tap.Options()
        options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1"])
        service: Any = _registry_tap.makeService(options, reactor=MemoryReactorClock())
        assert server.stack.routes is not None and service.stack.routes is not None
        assert (server.stack.proxy.development, service.stack.proxy.development) == (expected, expected)


def test_twistd_registry_freezes_what_it_loaded_at_start() -> None:
    """
    Starting the twistd registry service moves the objects of startup out of
    the garbage collector's full passes (they stalled route traffic).
    """
    import gc

    from twisted.internet.testing import MemoryReactorClock

    from micro._twistd import registry_tap as _registry_tap
    options = _registry_tap.Options()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1"])
    service = _registry_tap.makeService(options, reactor=MemoryReactorClock())
    gc.unfreeze()
    try:
        service.startService()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        service.stopService()
