"""
Pub/sub in one process: a registry, three handlers, one publish.

    python examples/pubsub.py

Two handlers take the message; the third refuses it, and its error comes
back to the publisher next to the others' results.  In a cluster the
handlers would live in other processes: nothing in the code changes.
"""

import micro


async def ship(order):
    return f"shipping order {order['id']}"


def bill(order, ctx):
    return f"billing order {order['id']} (seen on {ctx.channel})"


def audit(order):
    raise micro.HttpError(503, "the audit log is full")


async def main():
    registry = await micro.registry_server()
    pubsub = await micro.create_pubsub_service()

    await pubsub.subscribe("orders.created", ship)
    await pubsub.subscribe("orders.*", bill)  # any one segment after "orders."
    audit_id = await pubsub.subscribe("orders.created", audit)

    outcome = await pubsub.publish("orders.created", {"id": 42})
    for entry in outcome["results"]:
        print("result:", entry["result"])
    for entry in outcome["errors"]:
        print("error:", entry["status"], entry["error"])

    await pubsub.unsubscribe("orders.created", audit_id)
    outcome = await pubsub.publish("orders.created", {"id": 43})
    print("after unsubscribing audit:", len(outcome["results"]), "results,", len(outcome["errors"]), "errors")
    print("subscriptions:", sorted(pubsub.list_subscriptions()))

    await pubsub.terminate()
    await registry.terminate()


if __name__ == "__main__":
    micro.run(main)
