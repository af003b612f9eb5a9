"""
An app module: run it with ``twistd -n micro-service --module inventory``;
test it with test_inventory.py (pytest) or test_inventory_trial.py (trial).
"""

from twisted.internet.task import deferLater

import micro

STOCK = {"apple": 3, "pear": 0}


@micro.service
def stock(payload):
    item = payload["item"]
    if item not in STOCK:
        raise micro.HttpError(404, f"no item {item!r}")
    return {"item": item, "count": STOCK[item]}


@micro.service(name="canOrder")
async def can_order(payload, ctx):
    found = await ctx.call("stock", payload)
    if found["count"] == 0:
        raise micro.HttpError(409, f"{found['item']} is out of stock")
    return {"ok": True}


@micro.route("/api/stock/*")
async def stock_api(payload, ctx):
    return await ctx.call("stock", {"item": ctx.request.path.rsplit("/", 1)[1]})


@micro.service
def restock(payload, ctx):
    # Waits on ctx.clock, not the global reactor: tests move the time.
    return deferLater(ctx.clock, 2, lambda: {"restocked": payload["item"]})


@micro.subscribe("orders.created")
async def reserve(order, ctx):
    return await ctx.call("canOrder", {"item": order["item"]})
