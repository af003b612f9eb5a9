"""
Route traffic on an instance: the payload and ctx.request a handler gets
for each kind of request, through a registry route in memory.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.web.http_headers import Headers

from micro._kernel.codec import loads
from micro.testing import MemoryCluster
from tests._memory import fetch


def echo(payload: Any, ctx: Any) -> dict[str, Any]:
    request = ctx.request
    return {"method": request.method, "path": request.path, "url": request.url, "query": request.query,
            "payload": payload if not isinstance(payload, bytes) else {"bytes": payload.decode("latin-1")}}


@pytest.fixture
def cluster(cluster: MemoryCluster) -> MemoryCluster:
    cluster.result(cluster.node().create_route("/echo/*", echo))
    return cluster


def seen(cluster: MemoryCluster, method: bytes, path: str, body: bytes | None = None,
         content_type: bytes | None = None) -> dict[str, Any]:
    reply = fetch(cluster, method, path, body, {b"content-type": content_type} if content_type else None)
    assert reply.code == 200, reply.body
    return loads(reply.body)  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", [b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"])
def test_method_path_and_query_reach_the_handler(cluster: MemoryCluster, method: bytes) -> None:
    """
    Every method arrives with its path and query string intact.
    """
    got = seen(cluster, method, "/echo/users/7?sort=name&tag=a&tag=b")
    assert got["method"] == method.decode()
    assert got["path"] == "/echo/users/7"
    assert got["url"] == "/echo/users/7?sort=name&tag=a&tag=b"
    assert got["query"] == {"sort": ["name"], "tag": ["a", "b"]}


def test_get_payload_is_the_query(cluster: MemoryCluster) -> None:
    """
    A GET's payload is its query parameters, repeated ones as lists.
    """
    assert seen(cluster, b"GET", "/echo/x?name=Ann&n=1&n=2&empty=")["payload"] == {
        "name": "Ann", "n": ["1", "2"], "empty": ""}


def test_bodyless_delete_payload_is_the_query(cluster: MemoryCluster) -> None:
    """
    A request without a body gets its query parameters too.
    """
    assert seen(cluster, b"DELETE", "/echo/users/7?force=1")["payload"] == {"force": "1"}


@pytest.mark.parametrize("body, content_type, payload", [
    (b'{"name": "Ann", "n": [1, 2]}', b"application/json", {"name": "Ann", "n": [1, 2]}),
    (b'{"a": 1}', b"application/vnd.api+json", {"a": 1}),
    (b'{"a": 1}', None, {"a": 1}),
    (b"caf\xc3\xa9", b"text/plain; charset=utf-8", "café"),
    (b"name=Ann&tag=a&tag=b", b"application/x-www-form-urlencoded", {"name": "Ann", "tag": ["a", "b"]}),
    (b'{"x": 1}', b"application/x-www-form-urlencoded", {"x": 1}),
    (b' [1, 2]', b"application/x-www-form-urlencoded", [1, 2]),
    (b"{not json", b"application/x-www-form-urlencoded", {"{not json": ""}),
    (b"\x00\x01\xff", b"application/octet-stream", {"bytes": "\x00\x01\xff"}),
    (b"not json", None, {"bytes": "not json"}),
    (b"--x\r\n", b"multipart/form-data; boundary=x", {"bytes": "--x\r\n"}),
])
def test_body_is_decoded_by_its_content_type(cluster: MemoryCluster, body: bytes, content_type: bytes | None,
                                             payload: Any) -> None:
    """
    JSON, text and forms are decoded; anything else arrives as bytes.
    """
    assert seen(cluster, b"POST", "/echo/x", body, content_type)["payload"] == payload


@pytest.mark.parametrize("body, content_type, payload", [
    (b"caf\xe9", b"text/plain; charset=latin-1", "café"),
    (b"caf\xe9", b'text/plain; charset="ISO-8859-1"', "café"),
    (b"\xff\xfeh\x00i\x00", b"text/plain;charset=utf-16", "hi"),
])
def test_text_is_decoded_by_its_declared_charset(cluster: MemoryCluster, body: bytes, content_type: bytes,
                                                 payload: str) -> None:
    """
    A text body in another charset than UTF-8 arrives as the text it is.
    """
    assert seen(cluster, b"POST", "/echo/x", body, content_type)["payload"] == payload


def test_an_unknown_charset_is_400(cluster: MemoryCluster) -> None:
    """
    A charset Python does not know is a 400 naming it.
    """
    reply = fetch(cluster, b"POST", "/echo/x", b"hi", {b"content-type": b"text/plain; charset=klingon"})
    assert (reply.code, loads(reply.body)["error"]) == (400, "bad body for 'echo': unknown charset 'klingon'")


def test_malformed_json_is_400(cluster: MemoryCluster) -> None:
    """
    A body labelled JSON that is not JSON is a 400 naming the service.
    """
    reply = fetch(cluster, b"PUT", "/echo/x", b"{oops", {b"content-type": b"application/json"})
    assert reply.code == 400
    assert "bad body for 'echo'" in loads(reply.body)["error"]


def test_explicit_data_type_labels_the_reply() -> None:
    """
    A route registered with a data type labels the handler's reply with it.
    """
    cluster = MemoryCluster()
    cluster.registry()
    cluster.result(cluster.node().create_route("/csv", lambda payload: "a,b\n1,2\n", data_type="text/csv"))
    reply = fetch(cluster, b"GET", "/csv")
    assert (reply.header(b"content-type"), reply.body) == (b"text/csv; charset=utf-8", b"a,b\n1,2\n")


def test_direct_requests_to_an_instance_are_route_traffic() -> None:
    """
    A request straight to an instance, not through the registry, reaches
    the handler too, with the content type picked dynamically.
    """
    cluster = MemoryCluster()
    cluster.registry()
    route = cluster.result(cluster.node().create_route("/page", lambda payload: "<h1>hi</h1>"))
    assert route.instance is not None
    reply = cluster.result(cluster._http().request(b"GET", (route.instance.location + "/page").encode()))
    assert (reply.code, reply.body) == (200, b"<h1>hi</h1>")
    assert reply.header(b"content-type") == b"text/html; charset=utf-8"


def test_calls_and_framework_endpoints_still_work_beside_routes(cluster: MemoryCluster) -> None:
    """
    POST / without the route mark is still a call, and /_micro/health still answers.
    """
    node = cluster.node()
    assert cluster.result(node.call("echo", {"x": 1}))["payload"] == {"x": 1}
    location = node.table.locations("echo")[0]
    reply = cluster.result(cluster._http().request(b"GET", f"{location}/_micro/health".encode()))
    assert loads(reply.body)["service"] == "echo"


def test_routed_requests_to_reserved_paths_reach_the_handler(cluster: MemoryCluster) -> None:
    """
    At an instance, a request marked as route traffic is the handler's even
    under /_micro/; at the registry, /_micro/ is the registry's own, so a
    '/*' route gets every other path.
    """
    cluster.result(cluster.node(home="http://other.test").create_route("/*", echo))
    location = cluster.stacks[0].state.locations("echo")[0]
    assert seen(cluster, b"GET", "/_microscope?x=1")["payload"] == {"x": "1"}
    assert "epoch" in seen(cluster, b"GET", "/_micro/health")
    direct = cluster.result(cluster._http().request(b"GET", f"{location}/_micro/health?x=1".encode(),
                                                    headers=Headers({b"x-micro-route": [b"dynamic"]})))
    assert loads(direct.body)["payload"] == {"x": "1"}
