"""
No open relay: registrations must point at micro instances.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.web.resource import Resource

from micro._http.site import make_site
from micro.testing import MemoryCluster


class Bystander(Resource):
    """
    Some HTTP server that is not a micro instance; it records what it gets.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bytes, bytes, bytes]] = []

    def render(self, request: Any) -> bytes:
        self.seen.append((request.method, request.path, request.content.read()))
        return b"<html>hello</html>"


def _register(cluster: MemoryCluster, document: dict[str, Any]) -> tuple[int, Any]:
    reply = cluster.result(cluster._http().request(b"POST", b"http://registry.test:9999/",
                                                  json.dumps(document).encode()))
    return reply.code, json.loads(reply.body)


def test_registration_of_a_foreign_server_is_refused_and_it_gets_nothing_else() -> None:
    """
    A location that does not answer as a micro instance is refused; the
    server there saw one bodiless health probe and, after calls to the
    service it was claimed for, nothing more.
    """
    cluster = MemoryCluster()
    cluster.registry()
    bystander = Bystander()
    cluster.network.listen("http://victim.test:80", make_site(bystander, cluster.clock))
    code, reply = _register(cluster, {"register": {"service": "bank", "location": "http://victim.test:80"}})
    assert code == 400
    assert reply["error"] == ("http://victim.test:80 does not answer as a micro instance (its /_micro/health "
                              "answered 200); nothing was registered")
    assert _register(cluster, {"lookup": "all"}) == (200, {})
    assert _register(cluster, {"call": {"service": "bank", "payload": {"steal": 1}}})[0] == 404
    assert bystander.seen == [(b"GET", b"/_micro/health", b"")]


def test_nothing_listening_is_a_503_and_nothing_registered() -> None:
    """
    A location nobody listens at cannot be verified: 503, table unchanged.
    """
    cluster = MemoryCluster()
    cluster.registry()
    code, reply = _register(cluster, {"register": {"service": "svc", "location": "http://nobody.test:1"}})
    assert code == 503 and "nothing accepts connections there" in reply["error"]
    assert _register(cluster, {"lookup": "all"}) == (200, {})


def test_an_instance_of_another_service_cannot_be_claimed() -> None:
    """
    A micro instance of one service cannot be registered as another one.
    """
    cluster = MemoryCluster()
    cluster.registry()
    node = cluster.node()
    instance = cluster.result(node.create_service(lambda payload: "mine", "wallet"))
    code, reply = _register(cluster, {"register": {"service": "bank", "location": instance.location}})
    assert code == 400
    assert reply["error"] == (f"{instance.location} is a micro instance of 'wallet', not of 'bank'; "
                              "nothing was registered")
    assert _register(cluster, {"lookup": "all"}) == (200, {"wallet": [instance.location]})
