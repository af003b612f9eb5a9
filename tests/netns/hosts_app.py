"""
The app the multi-host tests run on their service hosts:

    twistd -n micro-service --module tests.netns.hosts_app

C{work} answers with the host it runs on, the location it was reached at
and its own clock, to calls and to route requests (C{GET /work} at a
registry); C{table-hN} (one per host) shows host N's table.
"""

import os
import time

from twisted.internet import reactor
from twisted.internet.task import deferLater

import micro

HOST = os.environ.get("NETNS_HOST", "0")


@micro.route("/work")
@micro.service
async def work(payload, ctx):
    seconds = payload.get("seconds", 0.02) if isinstance(payload, dict) else 0.02
    await deferLater(reactor, seconds)
    return {"host": HOST, "location": "http://" + ctx.request.headers["host"], "clock": time.time()}


@micro.service(name=f"table-h{HOST}")
def table(payload):
    return micro.default_node().table.snapshot()
