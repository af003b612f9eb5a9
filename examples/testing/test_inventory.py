"""
Testing inventory.py with pytest (and pytest-twisted for the live tests):

    python -m pytest test_inventory.py
"""

import pytest
import pytest_twisted

import inventory
import micro
from micro.testing import LiveCluster, MemoryCluster


@pytest.fixture
def cluster():
    cluster = MemoryCluster()  # a registry and nodes in memory, on a fake clock
    cluster.registry()
    return cluster


def test_stock(cluster):
    node = cluster.load(inventory)  # hosts the module as twistd would
    assert cluster.result(node.call("stock", {"item": "apple"})) == {"item": "apple", "count": 3}


def test_out_of_stock_is_a_409(cluster):
    node = cluster.load(inventory)
    with pytest.raises(micro.HttpError) as caught:
        cluster.result(node.call("canOrder", {"item": "pear"}))
    assert caught.value.status == 409


def test_the_route(cluster):
    cluster.load(inventory)
    reply = cluster.get("/api/stock/apple")
    assert (reply.status, reply.json()) == (200, {"item": "apple", "count": 3})
    assert cluster.get("/api/stock/kiwi").status == 404


def test_restock_waits_on_the_fake_clock(cluster):
    node = cluster.load(inventory)
    restocked = node.call("restock", {"item": "pear"})
    cluster.advance(2)
    assert cluster.result(restocked) == {"restocked": "pear"}


def test_an_order_for_a_missing_item_is_refused(cluster):
    node = cluster.load(inventory)
    outcome = cluster.result(node.publish("orders.created", {"item": "pear"}))
    assert [error["status"] for error in outcome["errors"]] == [409]


@pytest_twisted.ensureDeferred
async def test_the_route_on_real_sockets():
    cluster = await LiveCluster.start()  # a registry on 127.0.0.1
    try:
        await cluster.load(inventory)
        reply = await cluster.get("/api/stock/apple")
        assert (reply.status, reply.json()) == (200, {"item": "apple", "count": 3})
    finally:
        await cluster.stop()  # closes everything: the next test starts afresh


@pytest_twisted.ensureDeferred
async def test_module_level_calls_on_real_sockets():
    cluster = await LiveCluster.start()
    try:
        await micro.create_service(inventory.stock)  # the module-level API uses the cluster
        assert await micro.call_service("stock", {"item": "pear"}) == {"item": "pear", "count": 0}
    finally:
        await cluster.stop()
