"""
micro.testing.LiveCluster: real sockets on 127.0.0.1 for users'
integration tests. Two tests in a row both pass, the module-level API
follows the cluster while it runs, and stop() leaves no connection, port
or timer behind.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
import pytest_twisted

import micro
from micro.testing import LiveCluster

pytestmark = pytest.mark.integration


def _app() -> types.ModuleType:
    module = types.ModuleType("live_app")

    @micro.route("/api/double")
    def double(payload: Any) -> Any:
        return {"twice": int(payload["n"]) * 2}

    module.double = double  # type: ignore[attr-defined]
    return module


def _selectables() -> set[Any]:
    from twisted.internet import reactor

    return set(reactor.getReaders()) | set(reactor.getWriters())


async def _one_round() -> None:
    before = _selectables()
    cluster = await LiveCluster.start()
    try:
        await cluster.load(_app())
        reply = await cluster.get("/api/double", params={"n": "21"})
        assert (reply.status, reply.json()) == (200, {"twice": 42})
        await micro.create_service(lambda payload: payload["item"], "echo")
        assert await micro.call_service("echo", {"item": "apple"}) == "apple"
        assert micro.default_node().settings.registry_url == cluster.url
    finally:
        await cluster.stop()
    assert _selectables() <= before, _selectables() - before


@pytest_twisted.ensureDeferred
async def test_a_live_cluster_serves_and_cleans_up() -> None:
    """
    Routes, module-level calls and an app module work on real sockets;
    after stop() nothing of the cluster is left on the reactor.
    """
    await _one_round()


@pytest_twisted.ensureDeferred
async def test_a_second_live_cluster_in_the_same_process_works_too() -> None:
    """
    The same again: nothing of the first cluster stands in the way.
    """
    await _one_round()


@pytest_twisted.ensureDeferred
async def test_micro_shutdown_resets_the_module_level_api() -> None:
    """
    The audit's test, twice: registry_server, create_service and
    call_service, with micro.shutdown() in between, both pass.
    """
    for _ in range(2):
        registry = await micro.registry_server("http://127.0.0.1:0")
        try:
            await micro.create_service(lambda payload: {"count": 3}, "stock")
            assert (await micro.call_service("stock", {"item": "apple"}))["count"] == 3
        finally:
            await micro.shutdown()
        assert registry.url not in [micro.default_node().settings.registry_url]
    await micro.shutdown()
