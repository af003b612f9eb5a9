"""
The registry's read-only commands (nodes, changes, stats, channels, health)
in an in-memory cluster.
"""

from __future__ import annotations

from typing import Any

import pytest

from micro import HttpError
from micro._node.registry_client import RegistryClient
from micro.testing import REGISTRY_URL, MemoryCluster
from tests._helpers import waiting


def _client(cluster: MemoryCluster, token: str | None = None) -> RegistryClient:
    return RegistryClient(cluster._http("tool.test"), REGISTRY_URL, token)


def _command(cluster: MemoryCluster, name: str, argument: Any = True) -> Any:
    return cluster.result(_client(cluster).command(name, argument))


def test_nodes_lists_each_node_with_its_instances_and_lease() -> None:
    """
    nodes says, per node, what it hosts, how long ago it renewed its lease,
    how long the lease has left, and that it watches.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=4.0).stack
    node = cluster.node()
    a = cluster.result(node.create_service(lambda p: p, "alpha"))
    b = cluster.result(node.create_service(lambda p: p, "beta"))
    cluster.advance(0.5)
    [listed] = _command(cluster, "nodes")
    assert listed["node"] == node.id and listed["watching"] is True
    assert listed["instances"] == [{"service": "alpha", "location": a.location},
                                   {"service": "beta", "location": b.location}]
    assert 0.5 <= listed["lease_age"] <= stack.hub.hold
    assert 0 < listed["expires_in"] <= 4.0
    assert listed["version"] == stack.state.version


def test_changes_is_a_watch_that_takes_no_lease() -> None:
    """
    changes answers with the whole table at first, then waits for the next
    change and answers with just that, and the registry holds no node for it.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    node = cluster.node()
    first = cluster.result(node.create_service(lambda p: p, "alpha"))
    nodes_before = {n.id for n in stack.state.nodes()}
    full = _command(cluster, "changes")
    assert full["services"] == {"alpha": [first.location]} and full["version"] == stack.state.version

    pending = _client(cluster).command("changes", {"epoch": full["epoch"], "version": full["version"]})
    cluster.settle()
    assert waiting(pending) and stack.reads.observers.waiting() == 1
    second = cluster.result(node.create_service(lambda p: p, "beta"))
    reply = cluster.result(pending)
    assert reply["changes"] == [["+", "beta", second.location]]
    assert {n.id for n in stack.state.nodes()} == nodes_before


def test_changes_answers_after_the_hold_with_none_and_forgets_a_client_that_left() -> None:
    """
    No change within the hold: an empty answer.  A client that goes away
    is dropped from the waiting list.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    full = _command(cluster, "changes")
    pending = _client(cluster).command("changes", {"epoch": full["epoch"], "version": full["version"]})
    cluster.advance(stack.hub.hold)
    assert cluster.result(pending)["changes"] == []
    gone = _client(cluster).command("changes", {"epoch": full["epoch"], "version": full["version"]})
    cluster.settle()
    gone.cancel()
    cluster.settle()
    assert stack.reads.observers.waiting() == 0


def test_changes_from_another_epoch_gets_the_whole_table() -> None:
    """
    A version of another incarnation of the registry means nothing: the whole table.
    """
    cluster = MemoryCluster()
    cluster.registry()
    reply = _command(cluster, "changes", {"epoch": "old", "version": 3})
    assert reply["services"] == {} and reply["known"] is True


@pytest.mark.parametrize("argument, words", [
    ("now", "changes takes an object"),
    ({"epoch": 5}, "epoch must be a string"),
    ({"version": "x"}, "version must be an integer"),
])
def test_changes_refuses_bad_arguments(argument: Any, words: str) -> None:
    """
    A malformed changes command is a 400 that says what is wrong.
    """
    cluster = MemoryCluster()
    cluster.registry()
    with pytest.raises(HttpError) as caught:
        _command(cluster, "changes", argument)
    assert caught.value.status == 400 and words in caught.value.message


def test_stats_serves_the_aggregate() -> None:
    """
    stats answers the per-service aggregate of what nodes reported.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    node = cluster.node()
    cluster.result(node.create_service(lambda p: p, "echo"))
    for n in range(3):
        assert cluster.result(cluster.node(home="http://caller.test").call("echo", n)) == n
    cluster.advance(stack.hub.hold)
    stats = _command(cluster, "stats")
    assert stats["services"]["echo"]["calls"] == 3 and stats["services"]["echo"]["instances"] == 1
    assert stats["window"] >= 2 * stack.hub.hold and stats["bounds"][0] == 0.00005


def test_a_watch_with_malformed_stats_is_refused() -> None:
    """
    A watch whose stats are not counts is a 400, and changes no lease.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    with pytest.raises(HttpError) as caught:
        _command(cluster, "watch", {"node": "n1", "epoch": "", "version": -1, "stats": {"svc": {"calls": "many"}}})
    assert caught.value.status == 400 and "must be counts" in caught.value.message
    assert stack.state.node("n1") is None


def test_channels_lists_subscriptions() -> None:
    """
    channels lists every subscribed channel and its subscriber locations.
    """
    cluster = MemoryCluster()
    cluster.registry()
    node = cluster.node()
    pubsub = cluster.result(node.create_pubsub_service())
    cluster.result(pubsub.subscribe("orders.*", lambda m: None))
    cluster.result(pubsub.subscribe("audit", lambda m: None))
    endpoint = node.pubsub.endpoint
    assert endpoint is not None
    assert _command(cluster, "channels") == [{"channel": "audit", "subscribers": [endpoint.location]},
                                             {"channel": "orders.*", "subscribers": [endpoint.location]}]


def test_health_counts_nodes_watchers_and_instances() -> None:
    """
    health tells the epoch, version, and how many nodes, watchers, services and instances there are.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    node = cluster.node()
    cluster.result(node.create_service(lambda p: p, "alpha"))
    cluster.result(node.create_service(lambda p: p, "alpha"))
    health = _command(cluster, "health")
    assert health["status"] == "ready" and health["epoch"] == stack.state.epoch
    assert (health["nodes"], health["watching"], health["services"], health["instances"]) == (1, 1, 1, 2)
    assert health["version"] == stack.state.version and health["recovering"] is True


def test_read_commands_need_no_token() -> None:
    """
    With a registry token, reading commands still answer without it.
    """
    cluster = MemoryCluster()
    cluster.registry(token="s3cret")
    for name in ("nodes", "stats", "channels", "changes", "health", "routes"):
        cluster.result(_client(cluster).command(name, True))
    with pytest.raises(HttpError) as caught:
        _command(cluster, "watch", {"node": "n1"})
    assert caught.value.status == 401
