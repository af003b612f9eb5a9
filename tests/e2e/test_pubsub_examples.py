"""
The pub/sub and cache examples run to completion and print what the
README says they print.
"""

from __future__ import annotations

import pytest

from tests._processes import ROOT, Processes, free_port

pytestmark = pytest.mark.e2e


def _run(processes: Processes, example: str) -> str:
    url = f"http://127.0.0.1:{free_port()}"
    process = processes.python(example, str(ROOT / "examples" / example), env={"MICRO_REGISTRY_URL": url})
    assert process.wait(60) == 0, process.log()
    return process.log()


def test_pubsub_example(processes: Processes) -> None:
    """
    examples/pubsub.py shows two results, the refusing handler's error,
    and no error once that handler is unsubscribed.
    """
    out = _run(processes, "pubsub.py")
    assert "result: shipping order 42" in out
    assert "result: billing order 42 (seen on orders.created)" in out
    assert "error: 503 the audit log is full" in out
    assert "after unsubscribing audit: 2 results, 0 errors" in out


def test_cache_example(processes: Processes) -> None:
    """
    examples/cache.py reads back what it stored, falsy values included,
    and shows the 400 of a bad command.
    """
    out = _run(processes, "cache.py")
    assert "get user:1 -> {'name': 'Alice'}" in out
    assert "get visits -> 0" in out
    assert "bad command -> 400 unknown cache command 'fetch'" in out
    assert "clear -> {'ok': True, 'clear': 2}" in out
