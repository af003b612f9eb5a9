"""
The store contract (tests/_store_contract.py) on the memory store: two
registries in one process sharing one MemoryStore, on a fake clock.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest
from twisted.internet.defer import Deferred

from tests._helpers import fired
from tests._store_contract import CASES, Harness, memory_harness


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
