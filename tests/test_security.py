"""
The registry token: every state-changing command needs it, and nothing
changes without it.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from micro.testing import MemoryCluster

TOKEN = "s3cret-token"


def _command(cluster: MemoryCluster, document: dict[str, Any], token: str | None) -> tuple[int, Any]:
    from twisted.web.http_headers import Headers

    headers = Headers({b"content-type": [b"application/json"]})
    if token is not None:
        headers.addRawHeader(b"micro-registry-token", token.encode())
    reply = cluster.result(cluster._http().request(b"POST", b"http://registry.test:9999/",
                                                  json.dumps(document).encode(), headers))
    return reply.code, json.loads(reply.body)


@pytest.fixture
def guarded() -> tuple[MemoryCluster, Any, Any, Any]:
    """
    A registry with a token, and a node (with the token) hosting a service
    that is subscribed to a channel and reached by a route.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(token=TOKEN).stack
    node = cluster.node(token=TOKEN)
    instance = cluster.result(node.create_service(lambda payload: "ok", "svc"))
    assert _command(cluster, {"subscribe": {"channel": "news", "location": instance.location, "node": node.id}},
                    TOKEN)[0] == 200
    assert _command(cluster, {"register": {"type": "route", "service": "svc", "path": "/api/svc"}}, TOKEN)[0] == 200
    return cluster, stack, node, instance


def _state(stack: Any) -> Any:
    return (stack.state.table(), stack.routes.describe_all(), stack.pubsub.channels(),
            sorted(n.id for n in stack.state.nodes()), stack.state.ports.reserved())


def _commands(node: Any, instance: Any) -> dict[str, dict[str, Any]]:
    """
    One valid use of every protected command.
    """
    return {
        "setup": {"setup": {"service": "svc", "home": "http://node.test"}},
        "register": {"register": {"service": "svc", "location": instance.location, "node": node.id}},
        "unregister": {"unregister": {"service": "svc", "location": instance.location}},
        "watch": {"watch": {"node": "watcher", "epoch": "", "version": -1}},
        "heartbeat": {"heartbeat": {"node": "newcomer"}},
        "subscribe": {"subscribe": {"channel": "sport", "location": instance.location, "node": node.id}},
        "unsubscribe": {"unsubscribe": {"channel": "news", "location": instance.location}},
        "publish": {"publish": {"channel": "news", "message": {"headline": "x"}}},
        "route": {"register": {"type": "route", "service": "svc", "path": "/api/other"}},
        "unroute": {"unregister": {"type": "route", "path": "/api/svc"}},
    }


def test_every_protected_command_is_covered(guarded: Any) -> None:
    """
    The commands tested here are exactly those the registry protects.
    """
    cluster, stack, node, instance = guarded
    tested = {next(iter(doc)) for doc in _commands(node, instance).values()}
    assert tested == stack.commands.protected


@pytest.mark.parametrize("name", ["setup", "register", "unregister", "watch", "heartbeat", "subscribe",
                                  "unsubscribe", "publish", "route", "unroute"])
@pytest.mark.parametrize("token, status", [(None, 401), ("wrong", 403), ("", 401)])
def test_without_the_right_token_nothing_changes(guarded: Any, name: str, token: str | None, status: int) -> None:
    """
    Without the token (401) or with a wrong one (403), the command is
    refused with a JSON message and the registry's state is unchanged.
    """
    cluster, stack, node, instance = guarded
    before = _state(stack)
    code, body = _command(cluster, _commands(node, instance)[name], token or None)
    assert code == status
    assert "registry token" in body["error"] or "wrong registry token" in body["error"]
    assert _state(stack) == before


@pytest.mark.parametrize("name, changed", [
    ("setup", lambda b, a: a[4] != b[4]),
    ("register", lambda b, a: a == b),
    ("unregister", lambda b, a: a[0] == {}),
    ("watch", lambda b, a: "watcher" in a[3]),
    ("heartbeat", lambda b, a: "newcomer" in a[3]),
    ("subscribe", lambda b, a: "sport" in a[2]),
    ("unsubscribe", lambda b, a: "news" not in a[2]),
    ("publish", lambda b, a: a == b),
    ("route", lambda b, a: len(a[1]) == 2),
    ("unroute", lambda b, a: a[1] == []),
])
def test_with_the_right_token_each_command_works(guarded: Any, name: str,
                                                 changed: Callable[[Any, Any], bool]) -> None:
    """
    With the token, each protected command succeeds and does its work.
    """
    cluster, stack, node, instance = guarded
    before = _state(stack)
    code, _ = _command(cluster, _commands(node, instance)[name], TOKEN)
    assert code == 200
    assert changed(before, _state(stack))


def test_open_commands_need_no_token(guarded: Any) -> None:
    """
    Reading the registry needs no token: health, lookup, routes, call.
    """
    cluster, stack, node, instance = guarded
    assert _command(cluster, {"health": True}, None)[0] == 200
    assert _command(cluster, {"lookup": "all"}, None) == (200, {"svc": [instance.location]})
    assert _command(cluster, {"call": {"service": "svc"}}, None) == (200, "ok")
