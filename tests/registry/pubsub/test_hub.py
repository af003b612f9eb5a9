"""
The registry's pub/sub commands: input checks, no open relay, the token,
order per publisher, and subscriptions surviving a registry restart.
"""

from __future__ import annotations

from typing import Any

import pytest

from micro import HttpError
from micro._node.pubsub.subscriber import SUBSCRIBER_SERVICE
from micro.testing import REGISTRY_URL, MemoryCluster
from tests._memory import endpoint_of, recorder

TOKEN = "s3cret"


def _error(cluster: MemoryCluster, node: Any, command: str, argument: Any) -> HttpError:
    with pytest.raises(HttpError) as caught:
        cluster.result(node.registry_client.command(command, argument))
    return caught.value


@pytest.mark.parametrize("argument, words", [
    ({"channel": "", "message": 1}, "must not be empty"),
    ({"channel": 7, "message": 1}, "must be a string"),
    ({"channel": "a b", "message": 1}, "spaces"),
    ({"channel": "orders..eu", "message": 1}, "empty segment"),
    ({"channel": "orders.*", "message": 1}, "'*' is for subscriptions"),
    ({"channel": "x" * 300, "message": 1}, "longer than"),
    ({"channel": "orders"}, "needs 'message'"),
    ({"channel": "orders", "message": 1, "timeout": 0}, "timeout must be above 0"),
    ({"channel": "orders", "message": 1, "timeout": "soon"}, "must be a number"),
    ({"channel": "orders", "message": 1, "msg": 2}, "does not take 'msg'"),
    ({"channel": "orders", "message": 1, "seq": 2}, "together"),
    ("orders", "takes an object"),
])
def test_bad_publish_is_a_400_saying_why(cluster: MemoryCluster, argument: Any, words: str) -> None:
    """
    Each malformed publish is refused with a 400 whose message names the problem.
    """
    error = _error(cluster, cluster.node(), "publish", argument)
    assert error.status == 400 and words in error.message


@pytest.mark.parametrize("argument, words", [
    ({"channel": "", "location": "http://node.test:10000", "node": "n"}, "must not be empty"),
    ({"channel": ["x"], "location": "http://node.test:10000", "node": "n"}, "must be a string"),
    ({"channel": "or*ders", "location": "http://node.test:10000", "node": "n"}, "whole segment"),
    ({"channel": "x", "node": "n"}, "needs 'location'"),
    ({"channel": "x", "location": "ftp://x", "node": "n"}, "http://"),
    ({"channel": "x", "location": "http://node.test:10000"}, "needs 'node'"),
])
def test_bad_subscribe_is_a_400_saying_why(cluster: MemoryCluster, argument: Any, words: str) -> None:
    """
    Each malformed subscribe is refused with a 400 whose message names the problem.
    """
    error = _error(cluster, cluster.node(), "subscribe", argument)
    assert error.status == 400 and words in error.message


def test_subscribe_refuses_a_location_that_is_not_a_registered_instance(cluster: MemoryCluster) -> None:
    """
    No open relay: the registry will not deliver to an arbitrary URL.
    """
    node = cluster.node()
    error = _error(cluster, node, "subscribe", {"channel": "x", "location": "http://victim.test:80", "node": node.id})
    assert error.status == 400 and "not a registered instance" in error.message


def test_subscribe_refuses_another_nodes_instance(cluster: MemoryCluster) -> None:
    """
    A node cannot point a subscription at an instance that another node holds.
    """
    owner, other = cluster.node(home="http://owner.test"), cluster.node(home="http://other.test")
    instance = cluster.result(owner.create_service(lambda p: p, "echo"))
    error = _error(cluster, other, "subscribe", {"channel": "x", "location": instance.location, "node": other.id})
    assert error.status == 400


def test_any_instance_of_the_node_can_take_deliveries(cluster: MemoryCluster) -> None:
    """
    Subscribing with one of the node's own service instances works: every
    instance serves /_micro/deliver for its process.
    """
    node = cluster.node()
    instance = cluster.result(node.create_service(lambda p: p, "echo"))
    reply = cluster.result(node.registry_client.command(
        "subscribe", {"channel": "x", "location": instance.location, "node": node.id}))
    # after: the feed position just before the subscription (the registration was change 1).
    assert reply["subscribed"] == "x" and reply["after"] == 1 == cluster.stacks[0].state.position - 1
    outcome = cluster.result(node.publish("x", 1))
    assert outcome == {"results": [], "errors": []}  # the process has no handler on x


def test_unsubscribe_unknown_is_a_404(cluster: MemoryCluster) -> None:
    """
    Unsubscribing a subscription the registry does not hold is a 404 naming it.
    """
    error = _error(cluster, cluster.node(), "unsubscribe", {"channel": "x", "location": "http://node.test:10000"})
    assert error.status == 404 and "'x'" in error.message


@pytest.mark.parametrize("command, argument", [
    ("publish", {"channel": "x", "message": 1}),
    ("subscribe", {"channel": "x", "location": "http://node.test:10000", "node": "n"}),
    ("unsubscribe", {"channel": "x", "location": "http://node.test:10000"}),
])
def test_pubsub_commands_need_the_token(command: str, argument: Any) -> None:
    """
    With a registry token, each pub/sub command without it is a 401 and
    with a wrong one a 403.
    """
    cluster = MemoryCluster()
    cluster.registry(token=TOKEN)
    assert _error(cluster, cluster.node(), command, argument).status == 401
    assert _error(cluster, cluster.node(token="wrong"), command, argument).status == 403


def test_with_a_token_deliveries_work_and_forged_ones_are_refused() -> None:
    """
    The registry's deliveries carry the token and succeed; a delivery
    posted without it gets 401, with a wrong one 403, and runs nothing.
    """
    cluster = MemoryCluster()
    cluster.registry(token=TOKEN)
    node = cluster.node(token=TOKEN)
    seen: list[Any] = []
    pubsub = cluster.result(node.create_pubsub_service())
    cluster.result(pubsub.subscribe("x", recorder(seen, "ok")))
    assert [r["result"] for r in cluster.result(node.publish("x", 1))["results"]] == ["ok"]

    url = (endpoint_of(node).location + "/_micro/deliver").encode()
    forged = b'{"messages": [{"channel": "x", "message": 2, "seq": 99, "epoch": "e"}]}'
    codes = []
    for headers in ({}, {b"micro-registry-token": [b"wrong"]}):
        from twisted.web.http_headers import Headers
        reply = cluster.result(cluster._http().request(b"POST", url, forged, Headers(headers)))
        codes.append(reply.code)
    assert codes == [401, 403]
    assert seen == [1]


def test_malformed_delivery_is_a_400(cluster: MemoryCluster) -> None:
    """
    A delivery that is not a batch of well-formed messages is refused.
    """
    node = cluster.node()
    pubsub = cluster.result(node.create_pubsub_service())
    cluster.result(pubsub.subscribe("x", lambda m: m))
    url = (endpoint_of(node).location + "/_micro/deliver").encode()
    for body in (b"nope", b'{"messages": 1}', b'{"messages": [{"channel": "x"}]}'):
        assert cluster.result(cluster._http().request(b"POST", url, body)).code == 400


def test_one_publishers_messages_are_delivered_in_its_order(cluster: MemoryCluster) -> None:
    """
    Publishes numbered 1, 3, 2 by one node reach the subscriber as 1, 2, 3.
    """
    seen: list[int] = []
    sub = cluster.node(home="http://sub.test")
    pubsub = cluster.result(sub.create_pubsub_service())
    cluster.result(pubsub.subscribe("x", lambda m: seen.append(m)))
    publisher = cluster.node(home="http://pub.test")
    cluster.result(publisher.ready())
    pending = [cluster.run(publisher.registry_client.command(
        "publish", {"channel": "x", "message": seq, "publisher": publisher.id, "seq": seq})) for seq in (1, 3, 2)]
    for d in pending:
        cluster.result(d)
    assert seen == [1, 2, 3]


def _kill_registry(cluster: MemoryCluster) -> None:
    """
    The registry's process dies: it stops, and its connections drop.
    """
    site = cluster._server_at(REGISTRY_URL)
    cluster.stop_registry(cluster.stacks[0])
    assert site is not None
    site.close_connections()


def test_subscriptions_come_back_after_a_registry_restart(cluster: MemoryCluster) -> None:
    """
    After the registry restarts empty, the subscriber registers its
    endpoint and subscriptions again, and receives new messages.
    """
    node = cluster.node(home="http://sub.test")
    pubsub = cluster.result(node.create_pubsub_service())
    cluster.result(pubsub.subscribe("news", lambda m: f"got {m}"))
    _kill_registry(cluster)
    stack = cluster.registry().stack
    for _ in range(10):
        cluster.advance(0.5)
    assert list(stack.pubsub.channels()) == ["news"]
    assert stack.state.table()[SUBSCRIBER_SERVICE] == [endpoint_of(node).location]
    outcome = cluster.result(cluster.node(home="http://pub.test").publish("news", 1))
    assert [r["result"] for r in outcome["results"]] == ["got 1"]
