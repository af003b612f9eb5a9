"""
The store contract (tests/_store_contract.py) on the memory store: two
registries in one process sharing one MemoryStore, on a fake clock.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.testing import MemoryReactorClock

from micro._registry.stack import RegistryStack
from micro._registry.store.memory import MemoryStore
from tests._helpers import fired
from tests._store_contract import BASES, CASES, Harness

TTL = 4.0


def memory_harness() -> Harness:
    clock = MemoryReactorClock()
    store = MemoryStore(clock, TTL)
    stacks = [RegistryStack.build(clock, ttl=TTL, store=store) for _ in BASES]
    for stack, port in zip(stacks, BASES):
        stack.listening_on(port)

    def sleep(seconds: float) -> Deferred[None]:
        clock.advance(seconds)
        return succeed(None)

    async def caught_up() -> None:
        pass

    return Harness(stacks, TTL, sleep, caught_up)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_memory_store(case: Callable[[Harness], Awaitable[Any]]) -> None:
    """
    Each contract case holds for two registries sharing the memory store.
    """
    harness = memory_harness()
    fired(Deferred.fromCoroutine(case(harness)))  # type: ignore[arg-type]
    for stack in harness.stacks:
        stack.hub.stop()
        stack.state.stop()
