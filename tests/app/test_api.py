"""
The module-level API over the default node, in memory: http_request (sent
with treq over the node's pool) and the default node's life.
"""

from __future__ import annotations

from typing import Iterator

import pytest

import micro
from micro._app.default import current_node, use_node
from micro.testing import REGISTRY_URL, MemoryCluster
from tests._helpers import waiting


@pytest.fixture
def node(cluster: MemoryCluster) -> Iterator[micro.Node]:
    node = cluster.node()
    use_node(node)
    yield node
    use_node(None)


def test_http_request_posts_json_and_decodes_the_reply(cluster: MemoryCluster, node: micro.Node) -> None:
    """
    http_request POSTs its body as JSON and returns the decoded JSON reply.
    """
    reply = cluster.result(micro.http_request(REGISTRY_URL, {"health": True}))
    assert reply["status"] == "ready"


def test_http_request_raises_the_error_the_reply_describes(cluster: MemoryCluster, node: micro.Node) -> None:
    """
    An error status becomes an HttpError with that status and the server's message.
    """
    with pytest.raises(micro.HttpError) as caught:
        cluster.result(micro.http_request(REGISTRY_URL, {"lookup": "nobody"}))
    assert caught.value.status == 404
    assert caught.value.message == "no service named 'nobody' is registered"


def test_http_request_times_out_with_a_504(cluster: MemoryCluster, node: micro.Node) -> None:
    """
    A server that never answers costs the caller its timeout, then a 504.
    """
    cluster.freeze(REGISTRY_URL)
    d = micro.http_request(REGISTRY_URL, {"health": True}, timeout=2)
    cluster.advance(1.9)
    assert waiting(d)
    cluster.advance(0.2)
    with pytest.raises(micro.HttpError) as caught:
        cluster.result(d)
    assert caught.value.status == 504 and "timed out" in caught.value.message


def test_http_request_refuses_a_body_json_cannot_carry(node: micro.Node) -> None:
    """
    A body that is not JSON fails at once with a TypeError naming the URL.
    """
    d = micro.http_request(REGISTRY_URL, {"when": object()})
    failures: list[BaseException] = []
    d.addErrback(lambda f: failures.append(f.value))
    assert isinstance(failures[0], TypeError) and REGISTRY_URL in str(failures[0])


def test_use_node_sets_and_forgets_the_default(cluster: MemoryCluster) -> None:
    """
    use_node makes a node the default; use_node(None) forgets it without making another.
    """
    node = cluster.node()
    use_node(node)
    assert micro.default_node() is node and current_node() is node
    use_node(None)
    assert current_node() is None
