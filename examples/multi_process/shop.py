"""
An app module for ``twistd -n micro-service --module shop``: two services,
one calling the other; ``prices`` also answers ``GET /api/prices`` at the
registry.
"""

import os

import micro

PRICES = {"apple": 3, "pear": 4, "fig": 7}


@micro.route("/api/prices")
def prices(payload):
    return PRICES


@micro.service(name="quote")
async def make_quote(payload, ctx):
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
        raise micro.HttpError(400, 'quote takes {"items": ["apple", ...]}')
    unknown = [item for item in payload["items"] if item not in PRICES]
    if unknown:
        raise micro.HttpError(404, f"no price for {', '.join(unknown)}")
    table = await ctx.call("prices")
    return {"total": sum(table[item] for item in payload["items"]), "quoted_by": os.getpid()}
