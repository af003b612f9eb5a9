"""
micro.testing for users: an app module loaded into a MemoryCluster as
twistd would host it, requests through the front door with whole replies,
services that wait on ctx.clock driven by the fake clock, and a public
surface without micro's internals.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
import treq
from twisted.internet.task import deferLater

import micro
import micro.testing
from micro.testing import REGISTRY_URL, HttpReply, MemoryCluster


def _inventory() -> types.ModuleType:
    """
    An app module as a user writes one.
    """
    module = types.ModuleType("inventory")
    module.STOCK = {"apple": 3}  # type: ignore[attr-defined]
    module.events = []  # type: ignore[attr-defined]

    @micro.service
    def stock(payload: Any) -> dict[str, Any]:
        return {"item": payload["item"], "count": module.STOCK.get(payload["item"], 0)}  # type: ignore[attr-defined]

    @micro.route("/api/stock/*")
    async def stock_api(payload: Any, ctx: Any) -> Any:
        item = ctx.request.path.rsplit("/", 1)[1]
        if item not in module.STOCK:  # type: ignore[attr-defined]
            raise micro.HttpError(404, f"no item {item}")
        return await ctx.call("stock", {"item": item})

    @micro.service
    def restock_later(payload: Any, ctx: Any) -> Any:
        return deferLater(ctx.clock, 60, lambda: "restocked")

    @micro.subscribe("orders.*")
    def on_order(order: Any, ctx: Any) -> None:
        module.events.append((ctx.channel, order))  # type: ignore[attr-defined]

    @micro.on_start
    async def setup(node: Any) -> None:
        module.events.append("started")  # type: ignore[attr-defined]
        await node.cache_service()

    @micro.on_stop
    def teardown(node: Any) -> None:
        module.events.append("stopped")  # type: ignore[attr-defined]

    for fn in (stock, stock_api, restock_later, on_order, setup, teardown):
        setattr(module, fn.__name__, fn)
    return module


def test_an_app_module_is_hosted_as_twistd_would(cluster: MemoryCluster) -> None:
    """
    load() runs the on_start hooks, then hosts the module's services,
    routes and subscriptions in one node; unload() drains it and runs on_stop.
    """
    inventory = _inventory()
    node = cluster.load(inventory)
    assert inventory.events == ["started"]
    assert cluster.result(node.call("stock", {"item": "apple"})) == {"item": "apple", "count": 3}
    assert sorted(cluster.stacks[0].state.table()) == ["_micro.subscriber", "cache", "restock_later", "stock", "stock_api"]
    cluster.result(node.publish("orders.created", {"id": 1}))
    assert inventory.events[-1] == ("orders.created", {"id": 1})
    cluster.unload(node)
    assert inventory.events[-1] == "stopped" and cluster.stacks[0].state.table() == {}


def test_route_requests_return_status_headers_and_body(cluster: MemoryCluster) -> None:
    """
    get() and post() go through the registry's front door and return the
    whole reply; an HttpError raised by the handler arrives with its status.
    """
    cluster.load(_inventory())
    reply = cluster.get("/api/stock/apple", headers={"X-Request-Id": "t-1"})
    assert (reply.status, reply.json()) == (200, {"item": "apple", "count": 3})
    assert reply.headers["content-type"] == "application/json" and reply.headers["x-request-id"] == "t-1"
    missing = cluster.get("/api/stock/pear")
    assert (missing.status, missing.json()) == (404, {"error": "no item pear", "status": 404})
    command = cluster.post("/", json={"lookup": "stock"})
    assert command.status == 200 and command.json().startswith("http://app.test:")
    assert repr(reply) == "HttpReply(200, 26 bytes of application/json)"


def test_a_treq_client_reaches_the_cluster(cluster: MemoryCluster) -> None:
    """
    client() is a treq HTTPClient over the in-memory network.
    """
    cluster.load(_inventory())
    client = cluster.client()
    response = cluster.result(client.get(REGISTRY_URL + "/api/stock/apple"))
    assert response.code == 200
    assert cluster.result(treq.json_content(response)) == {"item": "apple", "count": 3}


def test_services_that_wait_on_ctx_clock_follow_the_fake_clock(cluster: MemoryCluster) -> None:
    """
    A service waiting 60 s on ctx.clock answers once the test advances the clock.
    """
    node = cluster.load(_inventory())
    d = node.call("restock_later", timeout=120)
    cluster.advance(59)
    assert not d.called
    cluster.advance(1)
    assert cluster.result(d) == "restocked"


def test_a_result_that_waits_on_time_says_so(cluster: MemoryCluster) -> None:
    """
    result() of work that waits on the clock explains what to do.
    """
    node = cluster.load(_inventory())
    with pytest.raises(AssertionError, match=r"advance\(\) the clock first"):
        cluster.result(node.call("restock_later", timeout=120))


def test_the_public_surface_is_what_users_need() -> None:
    """
    micro.testing exports its clusters, their reply and registry, and
    REGISTRY_URL; the registry handle and the HTTP client are public types.
    """
    assert sorted(micro.testing.__all__) == ["HttpReply", "LiveCluster", "MemoryCluster", "MemoryRegistry",
                                             "REGISTRY_URL"]
    cluster = MemoryCluster()
    registry = cluster.registry()
    assert repr(registry) == "MemoryRegistry(url='http://registry.test:9999')"
    assert (registry.table(), registry.routes()) == ({}, {})
    assert type(cluster.client()).__module__ == "treq.client"
    assert isinstance(HttpReply(200, {}, b"{}").json(), dict)
