"""
Pub/sub across nodes of an in-memory cluster: fan-out, isolation, the life
of subscriptions, timing on the fake clock.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.task import deferLater

from micro import HttpError
from micro._node.pubsub.subscriber import SUBSCRIBER_SERVICE
from micro.testing import MemoryCluster
from tests._memory import endpoint_of, recorder


def _subscriber(cluster: MemoryCluster, home: str, channel: str, handler: Any) -> tuple[Any, Any, str]:
    node = cluster.node(home=home)
    pubsub = cluster.result(node.create_pubsub_service())
    sub_id = cluster.result(pubsub.subscribe(channel, handler))
    return node, pubsub, sub_id


def _results(outcome: dict[str, Any]) -> list[Any]:
    return sorted(entry["result"] for entry in outcome["results"])


def test_every_subscriber_process_gets_the_message(cluster: MemoryCluster) -> None:
    """
    Two processes subscribed to one channel both run their handler, and the
    publisher sees both results and no error.
    """
    got: list[Any] = []
    _subscriber(cluster, "http://a.test", "orders", recorder(got, "a", "a"))
    _subscriber(cluster, "http://b.test", "orders", recorder(got, "b", "b"))
    publisher = cluster.node(home="http://p.test")
    outcome = cluster.result(publisher.publish("orders", {"id": 7}))
    assert _results(outcome) == ["a", "b"]
    assert outcome["errors"] == []
    assert sorted(got) == [("a", {"id": 7}), ("b", {"id": 7})]


def test_publish_without_subscribers_returns_empty_lists(cluster: MemoryCluster) -> None:
    """
    Publishing to a channel nobody subscribes to answers empty results and errors.
    """
    publisher = cluster.node()
    assert cluster.result(publisher.publish("nobody.listens", "hello")) == {"results": [], "errors": []}


def test_handlers_of_one_process_share_one_registry_subscription(cluster: MemoryCluster) -> None:
    """
    Three handlers in one process hold one subscription at the registry,
    and all three run for one message.
    """
    node, pubsub, _ = _subscriber(cluster, "http://a.test", "news", lambda m: 1)
    cluster.result(pubsub.subscribe("news", lambda m: 2))
    cluster.result(pubsub.subscribe("news", lambda m: 3))
    hub = cluster.stacks[0].pubsub
    assert len(hub.channels()["news"]) == 1
    assert _results(cluster.result(cluster.node(home="http://p.test").publish("news", None))) == [1, 2, 3]
    table = cluster.result(node.registry_client.lookup("all"))
    assert len(table[SUBSCRIBER_SERVICE]) == 1


def test_a_raising_handler_is_isolated(cluster: MemoryCluster) -> None:
    """
    A handler that raises puts a 500 naming its error in errors; the other
    handlers, in its process and elsewhere, still run.
    """
    def broken(message: Any) -> None:
        raise ValueError("no stock")

    node, pubsub, bad_id = _subscriber(cluster, "http://a.test", "orders", broken)
    cluster.result(pubsub.subscribe("orders", lambda m: "same process"))
    _subscriber(cluster, "http://b.test", "orders", lambda m: "other process")
    outcome = cluster.result(cluster.node(home="http://p.test").publish("orders", 1))
    assert _results(outcome) == ["other process", "same process"]
    [error] = outcome["errors"]
    assert error["subscription"] == bad_id and error["status"] == 500
    assert "ValueError: no stock" in error["error"]


def test_http_error_in_a_handler_keeps_its_status(cluster: MemoryCluster) -> None:
    """
    A handler raising HttpError(409, ...) reports 409 and its message.
    """
    def refuse(message: Any) -> None:
        raise HttpError(409, "duplicate order")

    _subscriber(cluster, "http://a.test", "orders", refuse)
    [error] = cluster.result(cluster.node(home="http://p.test").publish("orders", 1))["errors"]
    assert (error["status"], error["error"]) == (409, "duplicate order")


def test_unsubscribe_stops_one_handler_only(cluster: MemoryCluster) -> None:
    """
    After unsubscribing one of two handlers, only the other one runs.
    """
    node, pubsub, first = _subscriber(cluster, "http://a.test", "news", lambda m: "first")
    cluster.result(pubsub.subscribe("news", lambda m: "second"))
    cluster.result(pubsub.unsubscribe("news", first))
    assert _results(cluster.result(node.publish("news", 0))) == ["second"]
    assert list(pubsub.list_subscriptions()) == ["news"]


def test_unsubscribing_the_last_handler_ends_the_registry_subscription(cluster: MemoryCluster) -> None:
    """
    When a process drops its last handler of a channel, the registry stops
    delivering that channel to it.
    """
    node, pubsub, sub_id = _subscriber(cluster, "http://a.test", "news", lambda m: "x")
    cluster.result(pubsub.unsubscribe("news", sub_id))
    assert cluster.stacks[0].pubsub.channels() == {}
    assert pubsub.list_subscriptions() == {}


def test_terminate_removes_subscriptions_and_the_endpoint(cluster: MemoryCluster) -> None:
    """
    terminate() ends every subscription made through the service, and the
    process's delivery endpoint leaves the table.
    """
    node, pubsub, _ = _subscriber(cluster, "http://a.test", "news", lambda m: "x")
    cluster.result(pubsub.subscribe("sports", lambda m: "y"))
    cluster.result(pubsub.terminate())
    assert cluster.stacks[0].pubsub.channels() == {}
    assert SUBSCRIBER_SERVICE not in cluster.stacks[0].state.table()
    assert cluster.result(cluster.node(home="http://p.test").publish("news", 1)) == {"results": [], "errors": []}
    with pytest.raises(ValueError, match="terminated"):
        pubsub.subscribe("news", lambda m: None)


def test_node_terminate_ends_its_subscriptions(cluster: MemoryCluster) -> None:
    """
    A node that terminates takes its subscriptions with it.
    """
    node, _, _ = _subscriber(cluster, "http://a.test", "news", lambda m: "x")
    cluster.result(node.terminate())
    assert cluster.stacks[0].pubsub.channels() == {}


def _die(cluster: MemoryCluster, node: Any, host: str) -> None:
    """
    Make a node stop as a killed process would: its watch connection
    drops and its port stops answering.
    """
    cluster.kill(f"http://{host}")


def test_dead_node_loses_its_subscriptions(cluster: MemoryCluster) -> None:
    """
    When a subscriber process dies, the registry drops its subscriptions
    and publishing reaches only the living, without errors.
    """
    dead, _, _ = _subscriber(cluster, "http://dead.test", "news", lambda m: "dead")
    _subscriber(cluster, "http://alive.test", "news", lambda m: "alive")
    _die(cluster, dead, "dead.test")
    assert len(cluster.stacks[0].pubsub.channels()["news"]) == 1
    outcome = cluster.result(cluster.node(home="http://p.test").publish("news", 1))
    assert _results(outcome) == ["alive"] and outcome["errors"] == []


def test_lease_end_drops_subscriptions(cluster: MemoryCluster) -> None:
    """
    A subscriber evicted when its lease ends is no longer delivered to.
    """
    node, _, _ = _subscriber(cluster, "http://a.test", "news", lambda m: "x")
    cluster.stacks[0].state.evict(node.id, "its lease expired")
    assert cluster.stacks[0].pubsub.channels() == {}


def test_slow_subscriber_delays_nobody(cluster: MemoryCluster) -> None:
    """
    With one subscriber taking 2 s, the other runs at once (time 0 on the
    fake clock) and the publisher gets both results after 2 s.
    """
    clock = cluster.clock
    seen: dict[str, float] = {}

    def slow(message: Any) -> Any:
        return deferLater(clock, 2.0, lambda: "slow")

    def fast(message: Any) -> str:
        seen["fast"] = clock.seconds()
        return "fast"

    _subscriber(cluster, "http://slow.test", "jobs", slow)
    _subscriber(cluster, "http://fast.test", "jobs", fast)
    publisher = cluster.node(home="http://p.test")
    start = clock.seconds()
    done: list[Any] = []
    cluster.run(publisher.publish("jobs", 1)).addCallback(done.append)
    assert seen["fast"] == start
    assert done == []
    cluster.advance(1.9)
    assert done == []
    cluster.advance(0.1)
    assert _results(done[0]) == ["fast", "slow"]


def test_timed_out_subscriber_shows_in_errors(cluster: MemoryCluster) -> None:
    """
    A subscriber that does not answer within the publish timeout is a 504
    in errors, naming its location, while the others' results stand.
    """
    clock = cluster.clock
    _subscriber(cluster, "http://slow.test", "jobs", lambda m: deferLater(clock, 10.0, lambda: "late"))
    _subscriber(cluster, "http://fast.test", "jobs", lambda m: "fast")
    d = cluster.run(cluster.node(home="http://p.test").publish("jobs", 1, timeout=1.0))
    cluster.advance(1.0)
    outcome = cluster.result(d)
    assert _results(outcome) == ["fast"]
    [error] = outcome["errors"]
    assert error["status"] == 504 and error["location"] == "http://slow.test:10000"
    cluster.advance(10.0)  # the slow handler finishes; nothing is left hanging


def test_handler_runs_to_the_end_after_the_registry_gave_up(cluster: MemoryCluster) -> None:
    """
    A delivery the registry stopped waiting for is not cancelled: the
    handler finishes, and the next message reaches it after that.
    """
    clock = cluster.clock
    log: list[str] = []

    async def handler(message: str) -> str:
        log.append(f"start {message}")
        await deferLater(clock, 3.0)
        log.append(f"end {message}")
        return message

    _subscriber(cluster, "http://slow.test", "jobs", handler)
    publisher = cluster.node(home="http://p.test")
    first = cluster.run(publisher.publish("jobs", "one", timeout=1.0))
    cluster.advance(1.0)
    assert cluster.result(first)["errors"][0]["status"] == 504
    second = cluster.run(publisher.publish("jobs", "two", timeout=10.0))
    for _ in range(6):
        cluster.advance(1.0)
    assert _results(cluster.result(second)) == ["two"]
    assert log == ["start one", "end one", "start two", "end two"]


def test_unreachable_subscriber_shows_in_errors(cluster: MemoryCluster) -> None:
    """
    A subscriber whose process is gone but still registered is a 503 error.
    """
    node, _, _ = _subscriber(cluster, "http://gone.test", "jobs", lambda m: "never")
    cluster.drop_connections(endpoint_of(node).location)
    cluster.network.unlisten(("gone.test", 10000))
    [error] = cluster.result(cluster.node(home="http://p.test").publish("jobs", 1))["errors"]
    assert error["status"] == 503 and "unreachable" in error["error"]


def test_messages_reach_an_async_handler_in_order(cluster: MemoryCluster) -> None:
    """
    Messages published while an async handler still works on the first one
    reach it one at a time, in publication order.
    """
    clock = cluster.clock
    log: list[tuple[str, int]] = []

    async def handler(message: int) -> int:
        log.append(("start", message))
        await deferLater(clock, 0.5 if message == 0 else 0.1)
        log.append(("end", message))
        return message

    _subscriber(cluster, "http://a.test", "seq", handler)
    publisher = cluster.node(home="http://p.test")
    pending = [publisher.publish("seq", n) for n in range(5)]
    cluster.settle()
    for _ in range(20):
        cluster.advance(0.1)
    outcomes = [cluster.result(d) for d in pending]
    assert [_results(o) for o in outcomes] == [[n] for n in range(5)]
    assert log == [(step, n) for n in range(5) for step in ("start", "end")]


def test_message_published_before_subscribing_is_not_delivered(cluster: MemoryCluster) -> None:
    """
    A handler added while an earlier message is still on its way to its
    process does not receive that earlier message.
    """
    clock = cluster.clock
    node, pubsub, _ = _subscriber(cluster, "http://a.test", "news",
                                  lambda m: deferLater(clock, 1.0, lambda: "old"))
    publisher = cluster.node(home="http://p.test")
    # The first keeps the process busy for 1 s; the second waits behind it
    # in the registry's outbox and reaches the process after the new
    # handler subscribed, though it was published before.
    first = cluster.run(publisher.publish("news", "before"))
    queued = cluster.run(publisher.publish("news", "queued"))
    second_handler_saw: list[Any] = []
    cluster.result(pubsub.subscribe("news", recorder(second_handler_saw, "new")))
    last = cluster.run(publisher.publish("news", "after"))
    for _ in range(3):
        cluster.advance(1.0)
    assert _results(cluster.result(first)) == ["old"]
    assert _results(cluster.result(queued)) == ["old"]
    assert sorted(_results(cluster.result(last))) == ["new", "old"]
    assert second_handler_saw == ["after"]


def test_wildcard_subscription_takes_one_segment(cluster: MemoryCluster) -> None:
    """
    "orders.*" receives orders.created with ctx.channel set, not orders or
    orders.eu.created.
    """
    seen: list[str] = []
    _subscriber(cluster, "http://a.test", "orders.*", lambda m, ctx: seen.append(ctx.channel))
    publisher = cluster.node(home="http://p.test")
    for channel in ("orders.created", "orders", "orders.eu.created", "orders.paid"):
        cluster.result(publisher.publish(channel, {}))
    assert seen == ["orders.created", "orders.paid"]


def test_ctx_publish_from_a_service(cluster: MemoryCluster) -> None:
    """
    A service publishes through ctx.publish and returns the outcome.
    """
    _subscriber(cluster, "http://a.test", "audit", lambda m: f"logged {m}")
    node = cluster.node(home="http://svc.test")

    async def checkout(payload: Any, ctx: Any) -> Any:
        return await ctx.publish("audit", payload["item"])

    cluster.result(node.create_service(checkout))
    outcome = cluster.result(cluster.node(home="http://c.test").call("checkout", {"item": "pear"}))
    assert _results(outcome) == ["logged pear"]


def test_handler_ctx_can_call_services(cluster: MemoryCluster) -> None:
    """
    A handler that takes ctx calls another service with ctx.call.
    """
    node = cluster.node(home="http://svc.test")
    cluster.result(node.create_service(lambda p: p * 2, "double"))
    _subscriber(cluster, "http://a.test", "numbers", lambda m, ctx: ctx.call("double", m))
    assert _results(cluster.result(node.publish("numbers", 21))) == [42]


def test_falsy_messages_and_results_survive(cluster: MemoryCluster) -> None:
    """
    0, "", False and None travel as messages and come back as results.
    """
    node, _, _ = _subscriber(cluster, "http://a.test", "echo", lambda m: m)
    values: list[Any] = [0, "", False, None, [], {}]
    for value in values:
        assert _results(cluster.result(node.publish("echo", value))) == [value]


def test_unsendable_result_is_an_error_not_a_failed_delivery(cluster: MemoryCluster) -> None:
    """
    A handler returning something JSON cannot carry reports a 500 for
    itself; the other handler's result still arrives.
    """
    node, pubsub, _ = _subscriber(cluster, "http://a.test", "x", lambda m: object())
    cluster.result(pubsub.subscribe("x", lambda m: "fine"))
    outcome = cluster.result(node.publish("x", 1))
    assert _results(outcome) == ["fine"]
    assert "cannot be sent" in outcome["errors"][0]["error"]


def test_a_slow_handler_holds_back_its_process_answer(cluster: MemoryCluster) -> None:
    """
    As README says: handlers of one process answer together, so one slower
    than the publish timeout makes the publisher see a 504 for the process,
    without the fast handler's result (which did run).
    """
    subscriber, publisher = cluster.node(home="http://sub.test"), cluster.node(home="http://pub.test")
    ran: list[str] = []
    cluster.result(subscriber.pubsub.subscribe("jobs", lambda m: deferLater(cluster.clock, 2, lambda: "slow")))
    cluster.result(subscriber.pubsub.subscribe("jobs", lambda m: ran.append("fast") or "fast"))
    outcome = publisher.publish("jobs", 1, timeout=0.5)
    cluster.advance(0.5)
    result = cluster.result(outcome)
    assert result["results"] == [] and [e["status"] for e in result["errors"]] == [504] and ran == ["fast"]
    cluster.advance(2)
