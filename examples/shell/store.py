"""
A small store to try the ``micro`` command on (README, "From the shell"):
services, a route and a pub/sub subscription, in one app module.

    twistd -n micro-service --module store
"""

import micro

PRICES = {"apple": 3, "pear": 4}


@micro.service
def prices(payload):
    return PRICES


@micro.service(name="quote")
async def make_quote(payload, ctx):
    prices = await ctx.call("prices")
    return {"total": sum(prices[item] for item in payload["items"])}


@micro.service
def label(payload):
    """
    A price label as bytes, as a printer would take it.
    """
    return f"{payload['item']}: {PRICES[payload['item']]}\n".encode()


@micro.route("/api/prices")
async def api_prices(payload, ctx):
    return await ctx.call("prices")


@micro.subscribe("orders.*")
def ship(order, ctx):
    return f"shipping order {order['id']} ({ctx.channel})"
