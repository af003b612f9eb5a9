"""
Declaring routes from a node: create_route, what terminate() removes, and
the @micro.route mark for twistd app modules.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

import micro
from micro import HttpError
from micro._app.default import use_node
from micro._app.marks import marked_routes, marked_services
from micro._kernel.codec import loads
from micro.testing import MemoryCluster
from tests._memory import fetch, routes_of


def usersService(payload: Any) -> dict[str, Any]:
    return {"users": ["Alice", "Bob"]}


def test_route_with_a_function_hosts_it_and_terminate_removes_both(cluster: MemoryCluster) -> None:
    """
    A route made from a function hosts it as a service; terminate() removes the route and that service.
    """
    node = cluster.node()
    route = cluster.result(node.create_route("/api/users", usersService))
    assert (route.path, route.service, route.data_type) == ("/api/users", "usersService", "dynamic")
    assert route.instance is not None and route.instance in node.instances()
    assert loads(fetch(cluster, b"GET", "/api/users").body) == {"users": ["Alice", "Bob"]}
    cluster.result(route.terminate())
    assert fetch(cluster, b"GET", "/api/users").code == 404
    assert node.instances() == []
    assert cluster.stacks[0].state.locations("usersService") == []
    cluster.result(route.terminate())  # a second time is harmless


def test_route_to_a_name_leaves_the_service_alone(cluster: MemoryCluster) -> None:
    """
    A route to an existing service by name removes only itself on terminate().
    """
    node = cluster.node()
    cluster.result(node.create_service(usersService))
    route = cluster.result(node.create_route("/people", "usersService"))
    assert route.instance is None
    assert fetch(cluster, b"GET", "/people").code == 200
    cluster.result(route.terminate())
    assert fetch(cluster, b"GET", "/people").code == 404
    assert cluster.result(node.call("usersService")) == {"users": ["Alice", "Bob"]}


def test_function_named_like_a_registered_service_reuses_it(cluster: MemoryCluster) -> None:
    """
    A function whose name a service already has (elsewhere) is not hosted again: the route leads to that service.
    """
    elsewhere = cluster.node(home="http://elsewhere.test")
    cluster.result(elsewhere.create_service(usersService))
    node = cluster.node()
    route = cluster.result(node.create_route("/api/users", usersService))
    assert route.instance is None and node.instances() == []
    assert fetch(cluster, b"GET", "/api/users").code == 200


def test_lambda_gets_a_service_name_from_its_path(cluster: MemoryCluster) -> None:
    """
    A lambda route's service is named after the path.
    """
    route = cluster.result(cluster.node().create_route("/api/users/*", lambda payload: "hi"))
    assert route.service == "route-api-users"
    assert fetch(cluster, b"GET", "/api/users/1").body == b"hi"


def test_bad_path_is_400_before_anything_is_hosted(cluster: MemoryCluster) -> None:
    """
    A bad path fails with a 400 and leaves no service behind.
    """
    node = cluster.node()
    for path in ("api/users", "/api users", "/x\x00"):
        with pytest.raises(HttpError) as caught:
            cluster.result(node.create_route(path, usersService))
        assert caught.value.status == 400
    assert node.instances() == []
    with pytest.raises(TypeError):
        cluster.result(node.create_route("/x", 42))  # type: ignore[arg-type]


def test_replacing_a_route_sends_its_traffic_to_the_new_service(cluster: MemoryCluster) -> None:
    """
    Declaring a path again with another service replaces the route.
    """
    node = cluster.node()
    cluster.result(node.create_route("/x", lambda payload: "old"))
    cluster.result(node.create_service(lambda payload: "new", "fresh"))
    cluster.result(node.create_route("/x", "fresh"))
    assert routes_of(cluster.stacks[0]) == {"/x": "fresh"}
    assert fetch(cluster, b"GET", "/x").body == b"new"


def test_module_level_create_route_uses_the_default_node(cluster: MemoryCluster) -> None:
    """
    micro.create_route works on the default node, like create_service.
    """
    use_node(cluster.node())
    try:
        route = cluster.result(micro.create_route("/hello", lambda payload: "hello", data_type="text/plain"))
        reply = fetch(cluster, b"GET", "/hello")
        assert (reply.body, reply.header(b"content-type")) == (b"hello", b"text/plain; charset=utf-8")
        cluster.result(route.terminate())
    finally:
        use_node(None)


def test_route_mark_declares_service_and_routes() -> None:
    """
    @micro.route marks a function as a service with its routes; marks stack and keep the function callable.
    """
    module = types.ModuleType("app")

    @micro.route("/api/users")
    @micro.route("/api/users/*", data_type="application/json")
    def users(payload: Any) -> str:
        return "u"

    @micro.service(name="orders")
    @micro.route("/orders")
    def list_orders(payload: Any) -> str:
        return "o"

    module.users, module.list_orders = users, list_orders  # type: ignore[attr-defined]
    assert users(None) == "u"
    assert marked_services(module) == [("users", users), ("orders", list_orders)]
    assert sorted(marked_routes(module)) == [("/api/users", "users", "dynamic"),
                                             ("/api/users/*", "users", "application/json"),
                                             ("/orders", "orders", "dynamic")]


def test_route_mark_refuses_bad_paths_at_import() -> None:
    """
    A bad path in @micro.route is a ValueError when the module is imported.
    """
    with pytest.raises(ValueError, match="must start with '/'"):
        micro.route("api")
    with pytest.raises(ValueError, match="dataType"):
        micro.route("/api", data_type="json")


def test_same_path_with_new_lambda_serves_the_new_code(cluster: MemoryCluster) -> None:
    """
    Declaring a path again with another lambda hosts the new one under a fresh name, and it answers.
    """
    node = cluster.node()
    first = cluster.result(node.create_route("/x", lambda payload: "old"))
    second = cluster.result(node.create_route("/x", lambda payload: "new"))
    assert (first.service, second.service) == ("route-x", "route-x-2")
    assert fetch(cluster, b"GET", "/x").body == b"new"


def test_named_function_clashing_with_hosted_code_is_409(cluster: MemoryCluster) -> None:
    """
    A function whose name this node already hosts with other code is refused, not mixed in.
    """
    node = cluster.node()
    cluster.result(node.create_service(lambda payload: "other", "usersService"))
    with pytest.raises(HttpError) as caught:
        cluster.result(node.create_route("/api/users", usersService))
    assert caught.value.status == 409
    same = cluster.result(node.create_route("/api/users", "usersService"))
    assert same.instance is None


def test_terminating_a_replaced_route_leaves_its_replacement(cluster: MemoryCluster) -> None:
    """
    terminate() on a route whose path was declared anew since removes only its own service, not the new route.
    """
    node = cluster.node()
    old = cluster.result(node.create_route("/x", lambda payload: "old"))
    cluster.result(node.create_route("/x", lambda payload: "new"))
    cluster.result(old.terminate())
    assert fetch(cluster, b"GET", "/x").body == b"new"
    assert [i.name for i in node.instances()] == ["route-x-2"]
