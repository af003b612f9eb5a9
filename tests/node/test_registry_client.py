"""
The registry client: one typed method per command, each checked against a
registry in memory.
"""

from __future__ import annotations

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
