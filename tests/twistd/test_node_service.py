"""
The service twistd micro-service runs: it retries while the registry is
unreachable, ends the process (one log line, status 1) when it cannot
start for good, runs the app's hooks around its services, and drains.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.logger import LogLevel, capturedLogs

from micro._app.hosting import App
from micro._twistd.node_service import START_RETRY_DELAY, NodeService
from micro.testing import MemoryCluster


def _app(**parts: Any) -> App:
    fields = {"services": [], "routes": [], "subscriptions": [], "on_start": [], "on_stop": []}
    fields.update(parts)
    return App("test_app", **fields)


def _service(node: Any, app: App) -> tuple[NodeService, list[str]]:
    failures: list[str] = []
    return NodeService(node, app, 1.0, 1.0, on_failure=lambda: failures.append("exit 1")), failures


def _critical(events: list[Any]) -> list[Any]:
    return [e for e in events if e.get("log_level") is LogLevel.critical]


def test_a_refused_token_ends_the_process_with_one_line() -> None:
    """
    A registry that wants a token the node does not have: one critical line
    naming the 401, and the process is ended (status 1), not left running
    with nothing.
    """
    cluster = MemoryCluster()
    cluster.registry(token="s3cret")
    service, failures = _service(cluster.node(), _app(services=[("prices", lambda p: 1)]))
    with capturedLogs() as events:
        service.startService()
        cluster.settle()
    [line] = _critical(events)
    assert "failure" not in line and "log_failure" not in line
    assert line["error"] == "401: setup needs the registry token (header Micro-Registry-Token)"
    assert failures == ["exit 1"]
    cluster.result(service.stopService())


def test_an_unreachable_registry_is_waited_for() -> None:
    """
    With no registry yet, starting retries every second and ends nothing;
    once the registry answers, the services start.
    """
    cluster = MemoryCluster()
    node = cluster.node()
    service, failures = _service(node, _app(services=[("prices", lambda p: 1)]))
    service.startService()
    cluster.advance(5 * START_RETRY_DELAY)
    assert failures == [] and node.instances() == []
    cluster.registry()
    cluster.advance(START_RETRY_DELAY)
    cluster.settle()
    assert [i.name for i in node.instances()] == ["prices"] and failures == []
    cluster.result(service.stopService())


def test_a_failing_start_hook_ends_the_process_naming_file_and_line() -> None:
    """
    An on_start hook that raises ends the process; the line says what and where.
    """
    cluster = MemoryCluster()
    cluster.registry()

    def setup(node: Any) -> None:
        raise KeyError("DATABASE_URL")

    service, failures = _service(cluster.node(), _app(on_start=[setup]))
    with capturedLogs() as events:
        service.startService()
        cluster.settle()
    [line] = _critical(events)
    assert line["error"].startswith("KeyError: 'DATABASE_URL' (") and "test_node_service.py, line" in line["error"]
    assert failures == ["exit 1"]


def test_hooks_run_around_the_services_and_what_they_start_drains() -> None:
    """
    on_start runs first, in the process's node (here: hosting the cache);
    stopping unregisters everything, the cache included, then runs on_stop.
    """
    cluster = MemoryCluster()
    cluster.registry()
    stack = cluster.stacks[0]
    node = cluster.node()
    order: list[str] = []

    async def setup(n: Any) -> None:
        assert n is node
        order.append("on_start")
        await n.cache_service()

    def prices(payload: Any) -> int:
        return 3

    def teardown(n: Any) -> None:
        order.append(f"on_stop with {len(stack.state.table())} services registered")

    service, failures = _service(node, _app(services=[("prices", prices)], on_start=[setup], on_stop=[teardown]))
    service.startService()
    cluster.settle()
    order.append("started")
    assert sorted(stack.state.table()) == ["cache", "prices"]
    assert cluster.result(node.call("cache", {"set": {"k": 1}}))["ok"] is True
    cluster.result(service.stopService())
    assert order == ["on_start", "started", "on_stop with 0 services registered"] and failures == []


def test_stopping_guards_against_a_second_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Stopping installs the "already shutting down" handlers for SIGINT and SIGTERM.
    """
    from micro._twistd import node_service

    guarded: list[Any] = []
    monkeypatch.setattr(node_service, "ignore_repeated_signals", guarded.append)
    cluster = MemoryCluster()
    cluster.registry()
    service, _ = _service(cluster.node(), _app())
    service.startService()
    cluster.result(service.stopService())
    assert guarded == [cluster.clock]
