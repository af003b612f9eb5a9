"""
The store contract (tests/_store_contract.py) on the Redis store: two
registries, each with its own connections, sharing a redis-server of the
test's own; and what only a shared store does (reloading, epochs).
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Awaitable, Callable

import pytest
import pytest_twisted
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from micro._kernel.errors import HttpError
from micro._registry.stack import RegistryStack
from micro._registry.store.redis import RedisStore
from micro._registry.store.redis_address import parse_store_url
from tests._redis import RedisServer
from micro._registry.store.interface import Entry
from tests._store_contract import BASES, CASES, Harness, evict, reg, route, sub, unreg, unroute, unsub, memory_harness

pytestmark = pytest.mark.integration

TTL = 1.0


async def redis_harness(server: RedisServer, cluster: str = "micro", ttl: float = TTL,
                        beat_wait: float = 0.6) -> Harness:
    from twisted.internet import reactor

    address = parse_store_url(f"{server.url}?cluster={cluster}")
    assert address is not None
    stacks = [RegistryStack.build(reactor, ttl=ttl, store=RedisStore(address, reactor, ttl)) for _ in BASES]
    for stack, port in zip(stacks, BASES):
        stack.listening_on(port)
        await stack.start()
    if beat_wait:
        await deferLater(reactor, beat_wait)  # one beat each: both registries are known to the store

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


# -- the same random changes through two registries, on both stores ------------

_LOCATIONS = [f"http://h:{port}" for port in range(1, 6)]
_NODES = ["n1", "n2", "n3"]
_node = st.sampled_from(_NODES)
_maybe_node = st.one_of(st.none(), _node)
_service = st.sampled_from(["a", "b"])
_location = st.sampled_from(_LOCATIONS)
_change = st.one_of(
    st.builds(reg, _service, _location, _maybe_node),
    st.builds(unreg, _service, _location),
    st.builds(evict, _node),
    st.builds(route, st.sampled_from(["/a", "/b/*"]), _service, _maybe_node),
    st.builds(unroute, st.sampled_from(["/a", "/b/*"]), _maybe_node),
    st.builds(sub, st.sampled_from(["x", "x.*"]), _location, _node),
    st.builds(unsub, st.sampled_from(["x", "x.*"]), _location),
)
_sequences = st.lists(st.tuples(st.integers(0, 1), _change), min_size=1, max_size=40)


async def _outcomes(harness: Harness, changes: list[tuple[int, Entry]]) -> list[Any]:
    outcomes: list[Any] = []
    for i, entry in changes:
        try:
            result = await harness.change(i, entry)
        except HttpError as e:
            outcomes.append(("refused", e.status, e.message))
        else:
            outcomes.append({k: v for k, v in result.items() if k != "epoch"} if isinstance(result, dict) else result)
    return outcomes


def _comparable(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k != "epoch"}


async def _both_stores(server: RedisServer, changes: list[tuple[int, Entry]]) -> None:
    from twisted.internet import reactor

    memory = memory_harness()
    expected = await _outcomes(memory, changes)
    shared = await redis_harness(server, cluster=f"p{next(_clusters)}", beat_wait=0.0)
    try:
        assert await _outcomes(shared, changes) == expected
        view = await shared.same()
        assert _comparable(view) == _comparable(memory.view(0))
        # A registry that joins now loads the same view from the store's snapshot.
        address = shared.stacks[0].store.address  # type: ignore[attr-defined]
        late = RegistryStack.build(reactor, ttl=TTL, store=RedisStore(address, reactor, TTL))
        await late.start()
        try:
            snapshot = late.replica.snapshot()
            snapshot["table"] = late.state.table()
            snapshot["routes"], snapshot["subscriptions"] = sorted(snapshot["routes"]), sorted(snapshot["subscriptions"])
            assert _comparable(snapshot) == _comparable(view)
        finally:
            await late.stop()
    finally:
        await stop(shared)
        for stack in memory.stacks:
            stack.hub.stop()
            stack.state.stop()


_clusters = itertools.count()


def _examples(count: int) -> list[list[tuple[int, Entry]]]:
    """
    C{count} sequences drawn by hypothesis (no shrinking: each runs on the
    reactor, which hypothesis cannot drive; a failure prints its sequence).
    """
    drawn: list[list[tuple[int, Entry]]] = []

    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None)
    @given(_sequences)
    def collect(changes: list[tuple[int, Entry]]) -> None:
        drawn.append(changes)

    collect()
    return drawn


@pytest_twisted.ensureDeferred
async def test_random_changes_through_two_registries_agree_on_both_stores(redis_server: RedisServer) -> None:
    """
    Random register/unregister/evict/route/subscribe sequences, sent through
    either of two registries, give the same outcomes, tables and versions
    on the memory store and on Redis, on both registries, and in a
    registry that loads the result from Redis afterwards.
    """
    for changes in _examples(150):
        try:
            await _both_stores(redis_server, changes)
        except AssertionError:
            print("failing sequence:", changes)
            raise
