"""
Two nodes on real sockets: a call crosses TCP both ways.
"""

from __future__ import annotations

import pytest
import pytest_twisted

pytestmark = pytest.mark.integration


@pytest_twisted.ensureDeferred
async def test_call_between_nodes_over_tcp(live) -> None:  # type: ignore[no-untyped-def]
    """
    A service hosted by one node answers a call from another node.
    """
    host, caller = live.node(), live.node()
    await host.create_service(lambda payload: {"got": payload}, "echo")
    assert await caller.call("echo", {"x": [1, "2"]}) == {"got": {"x": [1, "2"]}}
