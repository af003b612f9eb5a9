"""
Testing inventory.py with trial:

    python -m twisted.trial test_inventory_trial
"""

from twisted.trial import unittest

import inventory
import micro
from micro.testing import LiveCluster, MemoryCluster


class InventoryTests(unittest.TestCase):
    def setUp(self):
        self.cluster = MemoryCluster()
        self.cluster.registry()
        self.node = self.cluster.load(inventory)

    def test_out_of_stock_is_a_409(self):
        error = self.assertRaises(micro.HttpError, self.cluster.result,
                                  self.node.call("canOrder", {"item": "pear"}))
        self.assertEqual(error.status, 409)

    def test_the_route(self):
        reply = self.cluster.get("/api/stock/apple")
        self.assertEqual((reply.status, reply.json()), (200, {"item": "apple", "count": 3}))

    def test_restock_waits_on_the_fake_clock(self):
        restocked = self.node.call("restock", {"item": "pear"})
        self.cluster.advance(2)
        self.assertEqual(self.cluster.result(restocked), {"restocked": "pear"})


class LiveInventoryTests(unittest.TestCase):
    async def setUp(self):
        self.cluster = await LiveCluster.start()
        self.addCleanup(self.cluster.stop)  # trial then finds its reactor clean
        await self.cluster.load(inventory)

    async def test_the_route_on_real_sockets(self):
        reply = await self.cluster.get("/api/stock/apple")
        self.assertEqual(reply.status, 200)

    async def test_module_level_calls_on_real_sockets(self):
        self.assertEqual(await micro.call_service("canOrder", {"item": "apple"}), {"ok": True})
