"""
Nodes calling services through an in-memory cluster (no sockets, fake clock).
"""

from __future__ import annotations

from typing import Any

import pytest

from micro import HttpError, Node
from micro.testing import MemoryCluster


@pytest.fixture
def cluster() -> MemoryCluster:
    cluster = MemoryCluster()
    cluster.registry()
    return cluster


def test_round_robin_follows_registration_order(cluster: MemoryCluster) -> None:
    """
    Three instances registered A, B, C answer six calls A, B, C, A, B, C.
    """
    node = cluster.node()
    for tag in "ABC":
        cluster.result(node.create_service(lambda payload, tag=tag: {"instance": tag}, "workerService"))
    answers = [cluster.result(node.call("workerService", {"value": i}))["instance"] for i in range(6)]
    assert answers == ["A", "B", "C", "A", "B", "C"]


def test_remote_caller_sees_same_round_robin(cluster: MemoryCluster) -> None:
    """
    A caller in another node also goes round-robin in registration order.
    """
    host, caller = cluster.node(), cluster.node(home="http://caller.test")
    for tag in "AB":
        cluster.result(host.create_service(lambda payload, tag=tag: tag, "worker"))
    assert [cluster.result(caller.call("worker")) for _ in range(4)] == ["A", "B", "A", "B"]


def test_unknown_service_is_404_naming_it(cluster: MemoryCluster) -> None:
    """
    Calling a service nobody registered fails with a 404 that names it.
    """
    node = cluster.node()
    with pytest.raises(HttpError) as caught:
        cluster.result(node.call("nowhere", {}))
    assert caught.value.status == 404
    assert "'nowhere'" in caught.value.message


def test_created_service_is_listed_in_its_own_table_at_once(cluster: MemoryCluster) -> None:
    """
    create_service returns only once its own node's table lists the instance.
    """
    host = cluster.node()
    instance = cluster.result(host.create_service(lambda payload: payload * 2, "double"))
    assert host.table.locations("double") == [instance.location]


def test_caller_behind_on_its_table_asks_the_registry(cluster: MemoryCluster) -> None:
    """
    A node whose table does not list a service yet finds it by asking the
    registry, instead of failing with a 404.
    """
    host, caller = cluster.node(), cluster.node(home="http://caller.test")
    instance = cluster.result(host.create_service(lambda payload: payload * 2, "double"))
    caller.table.apply(caller.table.version, [("-", "double", instance.location)])
    assert cluster.result(caller.call("double", 21)) == 42


def test_in_process_calls_open_no_connection(cluster: MemoryCluster) -> None:
    """
    A call to an instance of the calling node runs without the network.
    """
    node = cluster.node()
    cluster.result(node.create_service(lambda payload: {"echo": payload}, "echo"))
    connections = len(cluster.network.reactor.tcpClients)
    assert cluster.result(node.call("echo", [1, "a"])) == {"echo": [1, "a"]}
    assert len(cluster.network.reactor.tcpClients) == connections


def test_services_call_each_other_and_see_their_request(cluster: MemoryCluster) -> None:
    """
    ctx.call reaches another service; ctx.request describes the call.
    """
    host, caller = cluster.node(), cluster.node(home="http://caller.test")
    cluster.result(host.create_service(lambda payload, ctx: {"method": ctx.request.method,
                                                            "path": ctx.request.path,
                                                            "type": ctx.request.headers["content-type"]}, "inspect"))

    async def front(payload, ctx):  # type: ignore[no-untyped-def]
        return {"inner": await ctx.call("inspect", payload)}

    cluster.result(caller.create_service(front, "front"))
    assert cluster.result(caller.call("front", {})) == {
        "inner": {"method": "POST", "path": "/", "type": "application/json"}}


def test_call_waits_for_the_first_table(cluster: MemoryCluster) -> None:
    """
    A call made before the node has its table waits for it, then goes out.
    """
    host = cluster.node()
    cluster.result(host.create_service(lambda payload: "pong", "ping"))
    fresh = cluster.node(home="http://fresh.test")
    d = fresh.call("ping")
    assert not d.called
    cluster.settle()
    assert d.result == "pong"


def test_registry_unreachable_at_start_is_a_503() -> None:
    """
    Without a registry, a first call fails with a 503 once the wait for a
    table times out, saying so.
    """
    cluster = MemoryCluster()
    node = cluster.node()
    d = node.call("anything", timeout=30)
    cluster.advance(10)
    with pytest.raises(HttpError) as caught:
        cluster.result(d)
    assert caught.value.status == 503
    assert "no service table from the registry" in caught.value.message


def test_unknown_service_asks_registry_once_per_table_version(cluster: MemoryCluster,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Repeated calls to a missing service do not hammer the registry.
    """
    from micro._node.registry_client import RegistryClient

    node = cluster.node()
    cluster.result(node.ready())
    lookups = []
    original = RegistryClient.lookup
    monkeypatch.setattr(RegistryClient, "lookup",
                        lambda self, name, *rest: (lookups.append(name), original(self, name, *rest))[1])
    for _ in range(3):
        with pytest.raises(HttpError):
            cluster.result(node.call("ghost"))
    assert lookups == ["ghost"]


def test_terminate_unregisters_and_waits_for_running_calls(cluster: MemoryCluster) -> None:
    """
    terminate takes the instance out of every table and lets a running
    call finish before it returns.
    """
    from twisted.internet.defer import Deferred

    host, caller = cluster.node(), cluster.node(home="http://caller.test")
    pending: list[Deferred[str]] = []

    def slow(payload):  # type: ignore[no-untyped-def]
        d: Deferred[str] = Deferred()
        pending.append(d)
        return d

    instance = cluster.result(host.create_service(slow, "slow"))
    call = cluster.run(caller.call("slow"))
    assert len(pending) == 1
    stopping = cluster.run(instance.terminate())
    assert caller.table.locations("slow") == []
    assert not stopping.called
    pending[0].callback("finished")
    cluster.settle()
    assert call.result == "finished"
    assert stopping.called
    assert host.instances() == []


def test_bad_service_functions_are_refused() -> None:
    """
    Not a function, or no usable name: a clear error before anything starts.
    """
    cluster = MemoryCluster()
    node = cluster.node()
    with pytest.raises(TypeError, match="a service is a function"):
        cluster.result(node.create_service("helloService"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pass name="):
        cluster.result(node.create_service(lambda payload: 1))
    with pytest.raises(ValueError, match="invalid service name"):
        cluster.result(node.create_service(lambda payload: 1, "no spaces allowed"))


def test_a_feature_is_made_once_per_node(cluster: MemoryCluster) -> None:
    """
    node.feature(kind) builds kind(node) on first use and hands out the same object afterwards.
    """
    made: list[Any] = []

    def kind(node: Any) -> object:
        made.append(node)
        return object()

    node, other = cluster.node(), cluster.node()
    assert node.feature(kind) is node.feature(kind)
    assert other.feature(kind) is not node.feature(kind)
    assert made == [node, other]


def test_the_core_has_no_pub_sub_but_node_has(cluster: MemoryCluster) -> None:
    """
    A bare NodeCore refuses to publish with a clear 501; micro.Node publishes.
    """
    from micro._node.node import NodeCore

    core = NodeCore.create(cluster.clock, cluster.settings, http=cluster._http("core.test"), listen=cluster.network.listen)
    with pytest.raises(HttpError) as caught:
        cluster.result(core.publish("news", 1))
    assert caught.value.status == 501
    node = cluster.node()
    assert cluster.result(node.publish("news", 1)) == {"results": [], "errors": []}


@pytest.mark.parametrize("settings, message", [
    ({"registry_url": "127.0.0.1:9955"}, "registry URL (MICRO_REGISTRY_URL) '127.0.0.1:9955' must be an http:// "
                                         "or https:// URL with a host"),
    ({"service_url": "http://0.0.0.0"}, "service URL (MICRO_SERVICE_URL) 'http://0.0.0.0' names 0.0.0.0"),
])
def test_a_node_refuses_unusable_urls(settings: dict[str, str], message: str) -> None:
    """
    A node is not made with a registry URL it cannot dial or a service URL
    others cannot reach: a ValueError saying which, instead of retrying forever.
    """
    from attrs import evolve

    cluster = MemoryCluster()
    with pytest.raises(ValueError) as caught:
        Node.create(cluster.clock, evolve(cluster.settings, **settings))
    assert str(caught.value).startswith(message)


def test_create_service_checks_its_home(cluster: MemoryCluster) -> None:
    """
    home= must be a URL others can reach.
    """
    node = cluster.node()
    with pytest.raises(ValueError, match="home 'http://0.0.0.0' names 0.0.0.0"):
        cluster.result(node.create_service(lambda p: p, "svc", home="http://0.0.0.0"))


@pytest.mark.parametrize("options, message", [
    ({"timeout": -1}, "timeout must be a number of seconds above 0, not -1"),
    ({"timeout": 0}, "timeout must be a number of seconds above 0, not 0"),
    ({"timeout": float("nan")}, "timeout must be a number of seconds above 0, not nan"),
    ({"timeout": "5"}, "timeout must be a number of seconds above 0, not '5'"),
    ({"retries": -1}, "retries must be a whole number, 0 or more, not -1"),
    ({"retries": 1.5}, "retries must be a whole number, 0 or more, not 1.5"),
])
def test_call_options_out_of_range_are_value_errors(cluster: MemoryCluster, options: dict[str, Any],
                                                    message: str) -> None:
    """
    A call with a timeout that is not above 0, or negative retries, fails
    with a ValueError saying so, instead of running without a deadline.
    """
    node = cluster.node()
    cluster.result(node.create_service(lambda p: p, "echo"))
    with pytest.raises(ValueError) as caught:
        cluster.result(node.call("echo", "x", **options))
    assert str(caught.value) == message
