"""
micro publish and micro subscribe against an in-memory cluster.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from micro import HttpError
from micro.testing import MemoryCluster
from tests._cli import Shell
from tests._helpers import waiting


def _subscribers(cluster: MemoryCluster, token: str | None = None) -> Any:
    node = cluster.node(token=token)
    pubsub = cluster.result(node.create_pubsub_service())

    def ship(order: Any) -> str:
        return f"shipping {order['id']}"

    def broken(order: Any) -> None:
        raise HttpError(409, "out of stock")

    cluster.result(pubsub.subscribe("orders.*", ship))
    cluster.result(pubsub.subscribe("orders.*", broken))
    return node


def test_publish_prints_results_and_errors(cluster: MemoryCluster) -> None:
    """
    Each handler's result on stdout; each error with its status on stderr;
    status 1 because one delivery failed.
    """
    _subscribers(cluster)
    outcome = Shell(cluster).run("publish", "orders.created", '{"id": 42}')
    assert outcome.status == 1
    assert outcome.lines[0].split() == ["SUBSCRIPTION", "LOCATION", "RESULT"]
    assert outcome.lines[1].endswith('"shipping 42"') and len(outcome.lines) == 2
    note, error = outcome.stderr.splitlines()
    assert note == "1 results, 1 errors"
    assert error.startswith("micro: 409 from sub-") and error.endswith(": out of stock")


def test_publish_with_no_subscriber_is_fine(cluster: MemoryCluster) -> None:
    """
    Nobody listening: no result, no error, status 0; --json gives the registry's reply.
    """
    outcome = Shell(cluster).run("--json", "publish", "quiet", "1")
    assert outcome.status == 0 and json.loads(outcome.text) == {"results": [], "errors": []}


def test_publish_needs_the_token() -> None:
    """
    With a registry token: none is a 401, a wrong one a 403, the right one (from a file) works.
    """
    cluster = MemoryCluster()
    cluster.registry(token="s3cret")
    missing = Shell(cluster).run("publish", "news", "1")
    assert missing.status == 1 and missing.stderr.startswith("micro: 401: publish needs the registry token")
    wrong = Shell(cluster, environ={"MICRO_REGISTRY_URL": "http://registry.test:9999", "MICRO_REGISTRY_TOKEN": "nope"})
    outcome = wrong.run("publish", "news", "1")
    assert (outcome.status, outcome.stderr) == (1, "micro: 403: publish refused: wrong registry token\n")


def test_token_file(tmp_path: Path) -> None:
    """
    --token-file reads the token (never on the command line itself).
    """
    cluster = MemoryCluster()
    cluster.registry(token="s3cret")
    (tmp_path / "token").write_text("s3cret\n")
    outcome = Shell(cluster).run("--token-file", str(tmp_path / "token"), "publish", "news", "1")
    assert outcome.status == 0


def test_subscribe_prints_messages_then_leaves(cluster: MemoryCluster) -> None:
    """
    subscribe --count 2 prints two messages as they come, then unsubscribes
    and its instance leaves the registry.
    """
    stack = cluster.stacks[0]
    running = Shell(cluster).start("subscribe", "orders.*", "--count", "2")
    cluster.settle()
    assert waiting(running.d) and list(stack.pubsub.channels()) == ["orders.*"]
    publisher = cluster.node(home="http://publisher.test")
    first = cluster.result(publisher.publish("orders.created", {"id": 1}))
    assert first["results"][0]["result"] is None
    cluster.result(publisher.publish("orders.paid", {"id": 2}))
    outcome = running.outcome(cluster)
    assert outcome.status == 0
    assert outcome.lines == ['orders.created  {"id": 1}', 'orders.paid  {"id": 2}']
    assert outcome.stderr.startswith("subscribed to orders.* at http://cli.test:")
    assert stack.pubsub.channels() == {} and "_micro.subscriber" not in stack.state.table()


def test_subscribe_stops_cleanly_when_interrupted(cluster: MemoryCluster) -> None:
    """
    Ctrl-C (the command cancelled) ends a subscription with status 0 after
    leaving the registry; --json prints one document per message.
    """
    stack = cluster.stacks[0]
    running = Shell(cluster).start("subscribe", "news", "--json")
    cluster.settle()
    cluster.result(cluster.node(home="http://publisher.test").publish("news", "extra"))
    running.d.cancel()
    outcome = running.outcome(cluster)
    assert outcome.status == 0 and json.loads(outcome.text) == {"channel": "news", "message": "extra"}
    assert stack.pubsub.channels() == {}


def test_subscribe_with_a_wrong_token_fails_with_one_line() -> None:
    """
    A subscriber that the registry refuses ends at once: 403, status 1.
    """
    cluster = MemoryCluster()
    cluster.registry(token="s3cret")
    shell = Shell(cluster, environ={"MICRO_REGISTRY_URL": "http://registry.test:9999", "MICRO_REGISTRY_TOKEN": "no"})
    outcome = shell.run("subscribe", "news")
    assert outcome.status == 1 and outcome.stderr.startswith("micro: 403:")
    assert len(outcome.stderr.splitlines()) == 1
