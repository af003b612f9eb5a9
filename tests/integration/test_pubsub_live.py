"""
Pub/sub and the cache between nodes on real sockets on 127.0.0.1.
"""

from __future__ import annotations

import pytest
import pytest_twisted

pytestmark = pytest.mark.integration


@pytest_twisted.ensureDeferred
async def test_publish_reaches_a_subscriber_over_tcp(live) -> None:  # type: ignore[no-untyped-def]
    """
    A handler in one node receives a message published by another, and its
    result comes back to the publisher.
    """
    subscriber, publisher = live.node(), live.node()
    pubsub = await subscriber.create_pubsub_service()
    await pubsub.subscribe("greetings", lambda message: f"hello {message['name']}")
    outcome = await publisher.publish("greetings", {"name": "Ann"})
    assert [r["result"] for r in outcome["results"]] == ["hello Ann"]
    assert outcome["errors"] == []
    await pubsub.terminate()


@pytest_twisted.ensureDeferred
async def test_cache_over_tcp(live) -> None:  # type: ignore[no-untyped-def]
    """
    A cache hosted by one node keeps a falsy value that another node reads.
    """
    host, client = live.node(), live.node()
    cache = await host.cache_service()
    await client.call("cache", {"set": {"zero": 0}})
    assert await client.call("cache", {"get": "zero"}) == 0
    await cache.terminate()
