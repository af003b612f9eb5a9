"""
The dashboard's document: services with their instances (node, lease
age, serving or draining, calls in flight), rates and latencies from the
nodes' reports, nodes, routes, channels; instances are asked for their
health only while someone looks.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import Deferred

from micro.testing import MemoryCluster
from tests._memory import fetch


def _data(cluster: MemoryCluster) -> dict[str, Any]:
    reply = fetch(cluster, b"GET", "/_micro/ui/data")
    assert reply.code == 200 and reply.header(b"cache-control") == b"no-store"
    return json.loads(reply.body)  # type: ignore[no-any-return]


def _service(data: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [s for s in data["services"] if s["name"] == name]
    return found


def test_services_instances_routes_channels_and_rates(cluster: MemoryCluster) -> None:
    """
    What runs shows up, with the rates and latencies the nodes report,
    and each instance's status and calls in flight once it was asked.
    """
    node = cluster.node(home="http://shop.test")
    cluster.result(node.create_service(lambda payload: payload, "echo"))
    cluster.result(node.create_route("/api/prices", lambda payload: {"apple": 3}))
    cluster.result(node.pubsub.subscribe("orders.*", lambda message: None))
    data = _data(cluster)
    assert {s["name"] for s in data["services"]} >= {"echo", "route-api-prices", "_micro.subscriber"}
    assert data["routes"] == [{"path": "/api/prices", "service": "route-api-prices", "dataType": "dynamic",
                               "instances": 1}]
    [channel] = data["channels"]
    assert channel["channel"] == "orders.*" and len(channel["subscribers"]) == 1
    assert data["registry"]["status"] == "ready" and len(data["nodes"]) == 1

    for n in range(40):
        cluster.result(node.call("echo", n))
        cluster.advance(0.1)
    echo = _service(_data(cluster), "echo")
    assert echo["calls"] == 40 and echo["calls_per_second"] > 0 and echo["p50"] is not None
    [instance] = echo["instances"]
    assert instance["status"] == "serving" and instance["in_flight"] == 0 and instance["lease_age"] is not None


def test_a_draining_instance_shows_until_it_is_gone(cluster: MemoryCluster) -> None:
    """
    An instance that unregistered while its calls run is shown draining,
    with its calls in flight, and leaves once it stops answering.
    """
    node = cluster.node(home="http://slow.test")
    release: Deferred[None] = Deferred()
    instance = cluster.result(node.create_service(lambda payload: release, "slow"))
    _data(cluster)  # the page is open
    running = cluster.run(node.call("slow"))
    stopping = cluster.run(instance.terminate())
    cluster.advance(2)
    _data(cluster)  # asks the instance again
    cluster.advance(2)
    [shown] = _service(_data(cluster), "slow")["instances"]
    assert (shown["location"], shown["status"], shown["in_flight"]) == (instance.location, "draining", 1)
    release.callback(None)
    cluster.advance(2)
    cluster.result(running)
    assert stopping.called
    cluster.advance(2)  # the node reports no call running
    _data(cluster)
    cluster.advance(2)
    _data(cluster)
    assert all(s["name"] != "slow" or not s["instances"] for s in _data(cluster)["services"])


def test_nobody_looking_costs_no_probe(cluster: MemoryCluster) -> None:
    """
    Until the page asks, the registry asks no instance for its health.
    """
    dashboard = cluster.stacks[0].dashboard
    node = cluster.node()
    cluster.result(node.create_service(lambda payload: 1, "one"))
    cluster.advance(10)
    assert not dashboard.looking and not dashboard._health
    _data(cluster)
    cluster.settle()
    assert dashboard.looking and list(dashboard._health) == [node.instances()[0].location]
