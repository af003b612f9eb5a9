"""
The registry's commands over HTTP, in memory (StubTreq; no sockets).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from treq.testing import StubTreq
from twisted.internet.task import Clock

from micro._registry.stack import RegistryStack
from micro.testing import MemoryCluster
from tests._helpers import fired

URL = "http://registry.test:9999/"


def _stub(token: str | None = None) -> tuple[StubTreq, RegistryStack]:
    stack = RegistryStack.build(Clock(), token=token, verify_locations=False)
    stack.listening_on(9999)
    return StubTreq(stack.resource), stack


def _post(stub: StubTreq, body: Any, token: str | None = None) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"micro-registry-token": token} if token else {}
    response = fired(stub.post(URL, data=data, headers=headers))
    content = fired(response.content())
    assert response.headers.getRawHeaders("content-type") == ["application/json"]
    return response.code, json.loads(content)


def test_health_is_ready_with_a_millisecond_timestamp() -> None:
    """
    health answers ready and the time in milliseconds.
    """
    stub, _ = _stub()
    code, body = _post(stub, {"health": True})
    assert code == 200 and body["status"] == "ready"
    assert isinstance(body["timestamp"], int) and body["timestamp"] > 1_600_000_000_000


def test_setup_register_lookup_unregister() -> None:
    """
    The seed's lifecycle: a port, a registration, lookups, removal.
    """
    stub, stack = _stub()
    code, location = _post(stub, {"setup": {"service": "svc", "home": "http://localhost"}})
    assert (code, location) == (200, "http://localhost:10000")
    code, reply = _post(stub, {"register": {"type": "service", "service": "svc", "location": location}})
    assert code == 200 and reply["registered"] == location and reply["version"] == 1
    assert _post(stub, {"lookup": "svc"}) == (200, location)
    assert _post(stub, {"lookup": "all"}) == (200, {"svc": [location]})
    assert _post(stub, {"lookup": "*"}) == (200, {"svc": [location]})
    code, reply = _post(stub, {"unregister": {"service": "svc", "location": location}})
    assert code == 200 and reply["unregistered"] == location
    assert _post(stub, {"lookup": "all"}) == (200, {})
    stack.hub.stop()
    stack.state.stop()


@pytest.mark.parametrize("body, status, words", [
    (b"{not json", 400, "malformed JSON"),
    (b"", 400, "malformed JSON"),
    (b"[1, 2]", 400, "exactly one key"),
    (b'{"health": 1, "lookup": "a"}', 400, "exactly one key"),
    (b'{"dance": 1}', 400, "unknown command 'dance'; commands: call, changes, channels, health, heartbeat, lookup"),
    (b'{"lookup": "no such"}', 400, "invalid service name"),
    (b'{"lookup": 7}', 400, "must be a string"),
    (b'{"lookup": "ghost"}', 404, "'ghost'"),
    (b'{"setup": "svc"}', 400, "setup takes an object"),
    (b'{"setup": {"service": "svc"}}', 400, "needs 'home'"),
    (b'{"setup": {"home": "http://h"}}', 400, "needs 'service'"),
    (b'{"setup": {"service": "svc", "home": "h"}}', 400, "http:// or https://"),
    (b'{"register": {"service": "svc"}}', 400, "needs 'location'"),
    (b'{"register": {"service": "a b", "location": "http://h:1"}}', 400, "invalid service name"),
    (b'{"register": {"type": "robot", "service": "svc"}}', 400, "type must be one of"),
    (b'{"register": {"service": "svc", "location": "http://h:1", "node": " "}}', 400, "node must be"),
    (b'{"unregister": {"service": "svc", "location": "http://h:1"}}', 404, "no instance of 'svc'"),
    (b'{"watch": {"node": "n", "version": "3"}}', 400, "version must be an integer"),
    (b'{"settle": {"version": 1, "timeout": "soon"}}', 400, "timeout must be a number"),
    (b'{"call": {"payload": 1}}', 400, "must be a string"),
])
def test_bad_input_is_a_400_or_404_that_explains(body: bytes, status: int, words: str) -> None:
    """
    Every bad command gets a 4xx JSON error whose message helps; never a 500.
    """
    stub, _ = _stub()
    code, reply = _post(stub, body)
    assert code == status
    assert reply["status"] == status and words in reply["error"]


def test_non_command_requests_are_route_traffic() -> None:
    """
    GET / and other paths are routes, not commands: a JSON 404 without routes.
    """
    stub, _ = _stub()
    response = fired(stub.get(URL + "api/users"))
    assert response.code == 404
    assert json.loads(fired(response.content()))["error"] == "no route matches /api/users"


@pytest.mark.parametrize("command", [
    {"setup": {"service": "svc", "home": "http://h"}},
    {"register": {"service": "svc", "location": "http://h:1"}},
    {"unregister": {"service": "svc", "location": "http://h:1"}},
    {"heartbeat": {"node": "n1"}},
])
def test_token_guards_state_changes(command: dict[str, Any]) -> None:
    """
    With a token, state-changing commands need it: 401 without, 403 wrong.
    """
    stub, stack = _stub(token="s3cret")
    code, reply = _post(stub, command)
    assert code == 401 and "registry token" in reply["error"]
    code, reply = _post(stub, command, token="guess")
    assert code == 403
    assert stack.state.table() == {}
    assert _post(stub, {"lookup": "all"}) == (200, {})


def test_call_is_proxied_round_robin_with_errors_intact() -> None:
    """
    call reaches instances in turn, and a service's HttpError keeps its
    status and message through the registry.
    """
    from micro import HttpError

    cluster = MemoryCluster()
    cluster.registry()
    node = cluster.node()

    def refuse(payload: Any) -> None:
        raise HttpError(403, "Forbidden: insufficient permissions")

    for tag in "AB":
        cluster.result(node.create_service(lambda payload, tag=tag: {"tag": tag, "got": payload}, "svc"))
    cluster.result(node.create_service(refuse, "refuser"))

    http = cluster._http()

    def command(document: Any) -> tuple[int, Any]:
        reply = cluster.result(http.request(b"POST", b"http://registry.test:9999/", json.dumps(document).encode()))
        return reply.code, json.loads(reply.body)

    assert [command({"call": {"service": "svc", "payload": n}})[1]["tag"] for n in range(4)] == list("ABAB")
    assert command({"call": {"service": "svc", "payload": [1]}})[1]["got"] == [1]
    assert command({"call": {"service": "refuser"}}) == (
        403, {"error": "Forbidden: insufficient permissions", "status": 403})
    assert command({"call": {"service": "ghost"}})[0] == 404
