"""
Nodes calling services through an in-memory cluster (no sockets, fake clock).
"""

from __future__ import annotations

import pytest

from micro import HttpError
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
