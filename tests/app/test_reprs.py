"""
repr() of every public object is one short line that says what it is,
however much the process holds (they used to print the whole process).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock

import micro
from micro._kernel.config import Settings
from micro._registry.server import RegistryServer
from micro._registry.stack import RegistryStack
from micro.testing import MemoryCluster

LONGEST = 120


def test_every_public_object_has_a_short_one_line_repr(cluster: MemoryCluster) -> None:
    """
    Instances, routes, pub/sub, cache, node, ctx, requests, responses,
    settings and the cluster itself: one line each, under 120 characters,
    in a process that holds many services.
    """
    node = cluster.node()
    seen: dict[str, Any] = {}

    def keep(payload: Any, ctx: Any) -> str:
        seen["ctx"], seen["request"] = ctx, ctx.request
        return "ok"

    instances = [cluster.result(node.create_service(lambda p: p, f"svc{n}")) for n in range(30)]
    instance = cluster.result(node.create_service(keep, "keep"))
    route = cluster.result(node.create_route("/api/users", lambda p: {"users": []}))
    pubsub = cluster.result(node.create_pubsub_service())
    cluster.result(pubsub.subscribe("orders", lambda message, ctx: seen.setdefault("message_ctx", ctx)))
    cache = cluster.result(node.cache_service())
    cluster.result(node.call("keep", {"x": 1}))
    cluster.result(node.publish("orders", 1))
    registry = RegistryServer("http://127.0.0.1:9999", RegistryStack.build(Clock()), None, None)  # type: ignore[arg-type]
    objects = [instance, instances[0], route, pubsub, cache, node, seen["ctx"], seen["request"], seen["message_ctx"],
               micro.Response({"a": 1}, status=201), Settings(token="s3cret"), micro.HttpError(404, "gone"),
               registry, cluster]
    for thing in objects:
        text = repr(thing)
        assert "\n" not in text and len(text) < LONGEST, text
    assert repr(instance) == f"ServiceInstance('keep' at {instance.location})"
    assert repr(route) == "Route('/api/users' -> 'route-api-users')"
    assert repr(registry) == "RegistryServer(url='http://127.0.0.1:9999')"
    assert repr(micro.Response({"a": 1}, status=201)) == "Response(201, dict body)"
    assert repr(seen["request"]) == f"RequestInfo(POST {instance.location}/)"
    assert "s3cret" not in repr(Settings(token="s3cret"))
