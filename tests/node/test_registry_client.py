"""
The registry client: one typed method per command, each checked against a
registry in memory.
"""

from __future__ import annotations

from typing import Any

import pytest

from micro._node.registry_client import RegistryClient
from micro.testing import REGISTRY_URL, MemoryCluster


def test_routes_are_declared_and_withdrawn_on_a_node_lease(cluster: MemoryCluster) -> None:
    """
    declare_route claims a route for a node; withdraw_route gives the claim up and the route goes.
    """
    client = RegistryClient(cluster._http(), REGISTRY_URL)
    cluster.result(client.declare_route("/api/things/*", "things", "application/json", "node-1"))
    assert cluster.result(client.command("routes", True)) == [
        {"path": "/api/things/*", "service": "things", "dataType": "application/json"}]
    assert cluster.result(client.withdraw_route("/api/things/*", "node-1")) == {
        "unregistered": "/api/things/*", "removed": True}
    assert cluster.result(client.command("routes", True)) == []


def test_subscriptions_are_made_and_ended_for_an_instance(cluster: MemoryCluster) -> None:
    """
    subscribe holds a subscription for a registered instance of the node; unsubscribe ends it.
    """
    node = cluster.node()
    instance = cluster.result(node.create_service(lambda payload: payload, "listener"))
    reply = cluster.result(node.registry_client.subscribe("orders.*", instance.location, node.id))
    assert reply["subscribed"] == "orders.*" and reply["location"] == instance.location
    assert cluster.result(node.registry_client.unsubscribe("orders.*", instance.location)) == {
        "unsubscribed": "orders.*", "location": instance.location}


def test_publish_numbers_the_message_for_its_publisher(cluster: MemoryCluster) -> None:
    """
    publish sends the publisher and its sequence number; with nobody subscribed the outcome is empty.
    """
    node = cluster.node()
    cluster.result(node.ready())
    assert cluster.result(node.registry_client.publish("orders.new", {"id": 1}, publisher=node.id, seq=1)) == {
        "results": [], "errors": []}
    with pytest.raises(TypeError):
        node.registry_client.publish("orders.new", object(), publisher=node.id, seq=2)


def test_a_registry_list_is_tried_in_order_and_left_when_one_fails() -> None:
    """
    Comma-separated registries: the first is current; a failed one hands over to the next, round the list.
    """
    from micro._node.registry_endpoints import RegistryEndpoints

    endpoints = RegistryEndpoints(" http://a:1/, http://b:2 ,http://c:3")
    assert endpoints.urls == ["http://a:1", "http://b:2", "http://c:3"] and endpoints.several
    endpoints.failed("http://b:2")  # not the current one: nothing moves
    assert endpoints.current == "http://a:1"
    for expected in ("http://b:2", "http://c:3", "http://a:1"):
        endpoints.failed(endpoints.current)
        assert endpoints.current == expected
    assert not RegistryEndpoints("http://only:9999").several


def test_a_name_with_several_addresses_becomes_several_registries() -> None:
    """
    One registry host name resolving to several addresses (a headless service) gives one registry per
    address, looked up again at most every RESOLVE_INTERVAL; loopback names and addresses are not looked up.
    """
    from twisted.internet.defer import succeed
    from twisted.internet.task import Clock

    from micro._node.registry_endpoints import RESOLVE_INTERVAL, RegistryEndpoints

    asked: list[tuple[str, int]] = []
    answers = [["10.0.0.1", "10.0.0.2"], ["10.0.0.2", "10.0.0.3", "fd00::4"]]

    def resolve(host: str, port: int) -> Any:
        asked.append((host, port))
        return succeed(answers[len(asked) - 1])

    clock = Clock()
    endpoints = RegistryEndpoints("http://registry.shop:9999", clock, resolve)
    endpoints.resolve()
    assert endpoints.urls == ["http://10.0.0.1:9999", "http://10.0.0.2:9999"]
    endpoints.failed(endpoints.current)
    assert endpoints.current == "http://10.0.0.2:9999" and len(asked) == 1
    clock.advance(RESOLVE_INTERVAL)
    endpoints.failed("http://10.0.0.1:9999")
    assert endpoints.urls == ["http://10.0.0.2:9999", "http://10.0.0.3:9999", "http://[fd00::4]:9999"]
    assert endpoints.current == "http://10.0.0.2:9999"
    for local in ("http://localhost:9999", "http://127.0.0.1:9999", "http://a:1,http://b:2"):
        RegistryEndpoints(local, clock, resolve).resolve()
    assert asked == [("registry.shop", 9999)] * 2
