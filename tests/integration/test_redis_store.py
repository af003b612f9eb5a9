"""
The store contract (tests/_store_contract.py) on the Redis store: two
registries, each with its own connections, sharing a redis-server of the
test's own; and what only a shared store does (reloading, epochs).
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from micro._registry.stack import RegistryStack
from micro._registry.store.redis import RedisStore
from micro._registry.store.redis_address import parse_store_url
from tests._redis import RedisServer
from tests._store_contract import BASES, CASES, Harness

pytestmark = pytest.mark.integration

TTL = 1.0


async def redis_harness(server: RedisServer, cluster: str = "micro", ttl: float = TTL) -> Harness:
    from twisted.internet import reactor

    address = parse_store_url(f"{server.url}?cluster={cluster}")
    assert address is not None
    stacks = [RegistryStack.build(reactor, ttl=ttl, store=RedisStore(address, reactor, ttl)) for _ in BASES]
    for stack, port in zip(stacks, BASES):
        stack.listening_on(port)
        await stack.start()
    await deferLater(reactor, 0.6)  # one beat each: both registries are known to the store

    def sleep(seconds: float) -> Deferred[None]:
        return deferLater(reactor, seconds)

    async def caught_up() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            positions = {stack.state.position for stack in stacks}
            if len(positions) == 1:
                return
            await deferLater(reactor, 0.01)
        raise AssertionError(f"views did not catch up: {[s.state.position for s in stacks]}")

    return Harness(stacks, ttl, sleep, caught_up)


async def stop(harness: Harness) -> None:
    for stack in harness.stacks:
        await stack.stop()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
@pytest_twisted.ensureDeferred
async def test_redis_store(case: Callable[[Harness], Awaitable[Any]], redis_server: RedisServer) -> None:
    """
    Each contract case holds for two registries sharing a Redis store.
    """
    harness = await redis_harness(redis_server)
    try:
        await case(harness)
    finally:
        await stop(harness)
