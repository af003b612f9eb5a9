"""
The module-level API with a registry started in the same process.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted

import micro
from micro._app import default as _default

pytestmark = pytest.mark.integration


def _dead_registry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A port nothing listens on: following the environment would fail.
    monkeypatch.setenv("MICRO_REGISTRY_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("MICRO_REGISTRY_TOKEN", raising=False)
    _default.use_node(None)


@pytest_twisted.ensureDeferred
async def test_services_join_a_registry_started_here_on_any_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    registry_server("http://127.0.0.1:0") picks a port; the services and
    calls of the process follow it, not MICRO_REGISTRY_URL.
    """
    _dead_registry_env(monkeypatch)
    try:
        registry = await micro.registry_server("http://127.0.0.1:0", token="s3cret")
        await micro.create_service(lambda payload: {"echo": payload}, "echo")
        assert await micro.call_service("echo", [1, "a"]) == {"echo": [1, "a"]}
        node = micro.default_node()
        assert (node.settings.registry_url, node.settings.token) == (registry.url, "s3cret")
        assert len(registry.state.locations("echo")) == 1
    finally:
        await _default.shutdown()


@pytest_twisted.ensureDeferred
async def test_a_node_that_joined_another_registry_stays_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Once the default node follows a registry, starting another one in the
    process does not move it; nor does a second registry.
    """
    _dead_registry_env(monkeypatch)
    try:
        first = await micro.registry_server("http://127.0.0.1:0")
        await micro.create_service(lambda payload: payload, "one")
        node = micro.default_node()
        second = await micro.registry_server("http://127.0.0.1:0")
        assert micro.default_node() is node
        assert node.settings.registry_url == first.url != second.url
    finally:
        await _default.shutdown()


@pytest_twisted.ensureDeferred
async def test_an_unjoined_default_node_is_replaced_and_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A default node made before the registry (as run() makes one) but not yet
    used follows the registry; the old one is terminated.
    """
    _dead_registry_env(monkeypatch)
    try:
        before: Any = micro.default_node()
        registry = await micro.registry_server("http://127.0.0.1:0")
        after = micro.default_node()
        assert after is not before and after.settings.registry_url == registry.url
        assert before.joined  # terminated, so it can never join
        await micro.create_service(lambda payload: payload * 2, "double")
        assert await micro.call_service("double", 21) == 42
    finally:
        await _default.shutdown()


@pytest_twisted.ensureDeferred
async def test_terminating_the_registry_lets_its_services_unregister_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The quick start ends with registry.terminate(): the default node that
    follows it leaves first, unregistering its services while the registry
    hears it, instead of finding the registry gone.
    """
    from twisted.logger import capturedLogs, formatEvent

    _dead_registry_env(monkeypatch)
    try:
        registry = await micro.registry_server("http://127.0.0.1:0")
        instance = await micro.create_service(lambda payload: payload, "echo")
        with capturedLogs() as events:
            await registry.terminate()
        lines = [formatEvent(e) for e in events]
        assert f"unregistered echo at {instance.location}" in lines
        assert not [line for line in lines if "without unregistering" in line or "watching the registry failed" in line]
        assert _default.current_node() is None
    finally:
        await _default.shutdown()
