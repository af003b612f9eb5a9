"""
HTTP routes through a registry on a real socket: the seed's examples,
methods, matching, removal and failures.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest
import pytest_twisted

from micro import HttpError
from micro._http.client import HttpClient, FullResponse
from micro._kernel.codec import dumps, loads

pytestmark = pytest.mark.integration


@pytest_twisted.async_yield_fixture()
async def client() -> AsyncIterator[HttpClient]:
    from twisted.internet import reactor

    http = HttpClient.create(reactor)
    yield http
    await http.close()


async def get(http: HttpClient, url: str, method: bytes = b"GET", body: bytes | None = None) -> tuple[int, Any]:
    reply: FullResponse = await http.request(method, url.encode(), body, timeout=10)
    content_type = reply.header(b"content-type") or b""
    return reply.code, loads(reply.body) if content_type.startswith(b"application/json") else reply.body


def helloService(payload: Any) -> dict[str, str]:
    return {"message": "Hello, " + payload["name"]}


async def greetingService(payload: Any, ctx: Any) -> dict[str, str]:
    result = await ctx.call("helloService", {"name": "World"})
    result["message"] += " from micro!"
    return result  # type: ignore[no-any-return]


def usersService(payload: Any) -> dict[str, list[str]]:
    return {"users": ["Alice", "Bob"]}


def usersController(payload: Any, ctx: Any) -> dict[str, str]:
    return {"path": ctx.request.path}


def echo(payload: Any, ctx: Any) -> dict[str, Any]:
    request = ctx.request
    return {"method": request.method, "path": request.path, "query": request.query, "payload": payload}


@pytest_twisted.ensureDeferred
async def test_the_seed_route_examples_answer_over_http(live, client) -> None:  # type: ignore[no-untyped-def]
    """
    The seed's three routes: an inline service, a route to an existing
    service, and a wildcard controller, answer plain HTTP requests.
    """
    node = live.node()
    await node.create_service(helloService)
    await node.create_service(greetingService)
    await node.create_route("/api/users", usersService)
    await node.create_route("/api/greet", "greetingService")
    await node.create_route("/api/users/*", usersController)
    base = live.registry.url
    assert await get(client, base + "/api/users") == (200, {"users": ["Alice", "Bob"]})
    assert await get(client, base + "/api/greet") == (200, {"message": "Hello, World from micro!"})
    assert await get(client, base + "/api/users/123") == (200, {"path": "/api/users/123"})
    assert await get(client, base + "/api/users/profile") == (200, {"path": "/api/users/profile"})


@pytest_twisted.ensureDeferred
async def test_methods_reach_the_handler_with_path_and_query(live, client) -> None:  # type: ignore[no-untyped-def]
    """
    GET, POST, PUT, PATCH and DELETE reach the handler with their method, path and query intact.
    """
    await live.node().create_route("/items/*", echo)
    for method in (b"GET", b"POST", b"PUT", b"PATCH", b"DELETE"):
        body = None if method in (b"GET", b"DELETE") else dumps({"v": method.decode()})
        status, seen = await get(client, live.registry.url + "/items/7/tags?sort=asc&tag=a&tag=b", method, body)
        assert status == 200
        assert (seen["method"], seen["path"]) == (method.decode(), "/items/7/tags")
        assert seen["query"] == {"sort": ["asc"], "tag": ["a", "b"]}
        expected = {"sort": "asc", "tag": ["a", "b"]} if body is None else {"v": method.decode()}
        assert seen["payload"] == expected


@pytest_twisted.ensureDeferred
async def test_longest_prefix_beats_registration_order(live, client) -> None:  # type: ignore[no-untyped-def]
    """
    The longest wildcard prefix wins whether it was registered before or after the shorter one.
    """
    node = live.node()
    await node.create_service(lambda payload: "short", "short")
    await node.create_service(lambda payload: "long", "long")
    await node.create_route("/a/b/*", "long")  # longer first ...
    await node.create_route("/a/*", "short")
    await node.create_route("/c/*", "short")  # ... and shorter first
    await node.create_route("/c/d/*", "long")
    base = live.registry.url
    answers = [(await get(client, base + path))[1] for path in ("/a/b/x", "/a/x", "/c/d/x", "/c/x")]
    assert answers == [b"long", b"short", b"long", b"short"]


@pytest_twisted.ensureDeferred
async def test_route_removal_and_replacement(live, client) -> None:  # type: ignore[no-untyped-def]
    """
    A terminated route is a 404; a path declared again goes to its new service.
    """
    node = live.node()
    first = await node.create_route("/thing", lambda payload: "first")
    assert await get(client, live.registry.url + "/thing") == (200, b"first")
    await node.create_route("/thing", lambda payload: "second")
    assert await get(client, live.registry.url + "/thing") == (200, b"second")
    replaced = await node.create_route("/gone", lambda payload: "here")
    await replaced.terminate()
    status, error = await get(client, live.registry.url + "/gone")
    assert status == 404 and error["error"] == "no route matches /gone"
    assert first.instance is not None and first.instance in node.instances()


@pytest_twisted.ensureDeferred
async def test_bad_route_is_400_and_missing_instance_is_503(live, client) -> None:  # type: ignore[no-untyped-def]
    """
    Registering a bad path over HTTP is a 400; a route whose service has no instance answers 503.
    """
    status, error = await get(client, live.registry.url, b"POST", dumps(
        {"register": {"type": "route", "service": "s", "path": "/bad path"}}))
    assert status == 400 and "whitespace" in error["error"]
    await live.node().create_route("/nobody", "nobody")
    status, error = await get(client, live.registry.url + "/nobody")
    assert status == 503 and "no live instance" in error["error"]


@pytest_twisted.ensureDeferred
async def test_service_error_keeps_its_status(live, client) -> None:  # type: ignore[no-untyped-def]
    """
    A handler's HttpError crosses the route with its status and message.
    """
    def forbidden(payload: Any) -> None:
        raise HttpError(403, "Forbidden: insufficient permissions")

    await live.node().create_route("/admin", forbidden)
    assert await get(client, live.registry.url + "/admin") == (
        403, {"error": "Forbidden: insufficient permissions", "status": 403})


@pytest_twisted.ensureDeferred
async def test_dead_instance_is_skipped(live, client) -> None:  # type: ignore[no-untyped-def]
    """
    An instance whose port refuses connections is skipped for a live one on every request.
    """
    node = live.node()
    await node.create_route("/echo", echo)
    dead = await node.create_service(echo)
    assert dead.port is not None
    await dead.port.stopListening()  # gone, but still registered
    dead.port = None  # so that terminate() does not stop it a second time
    await live.registry.stack.http.close()  # and the registry's idle connection to it too
    statuses = [(await get(client, live.registry.url + "/echo?n=%d" % n))[0] for n in range(4)]
    assert statuses == [200] * 4


@pytest_twisted.ensureDeferred
async def test_large_body_to_an_unreachable_service_gets_503(live, client) -> None:  # type: ignore[no-untyped-def]
    """
    A 2 MiB upload to a route whose only instance is gone is read to its end and answered 503, not left hanging.
    """
    node = live.node()
    route = await node.create_route("/upload", lambda payload: len(payload))
    assert route.instance is not None and route.instance.port is not None
    await route.instance.port.stopListening()
    route.instance.port = None  # so that terminate() does not stop it a second time
    await live.registry.stack.http.close()  # and the registry's idle connection to it too
    status, error = await get(client, live.registry.url + "/upload", b"POST", b"x" * (2 * 1024 * 1024))
    assert status == 503 and "unreachable" in error["error"]


@pytest_twisted.ensureDeferred
async def test_unforwardable_request_target_is_json_400(live) -> None:  # type: ignore[no-untyped-def]
    """
    A request target with a control character is refused with a JSON 400, and the registry keeps serving.
    """
    from twisted.internet.threads import deferToThread

    from tests._raw_http import send

    await live.node().create_route("/*", echo)
    port = int(live.registry.url.rsplit(":", 1)[1])
    reply = await deferToThread(send, port, b"GET", b"/x\x7fy", [])
    assert reply.status == 400 and "percent-encode" in reply.json()["error"]
    reply = await deferToThread(send, port, b"GET", b"/x%7Fy", [])
    assert reply.status == 200 and reply.json()["path"] == "/x%7Fy"
