"""
An app module's marks read as an App (services, routes, subscriptions,
lifecycle hooks) and started in a node in that order.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
from twisted.logger import capturedLogs

import micro
from micro._app.hosting import App, start_app, stop_app
from micro.testing import MemoryCluster


def _module(**names: Any) -> types.ModuleType:
    module = types.ModuleType("shop_app")
    for name, value in names.items():
        setattr(module, name, value)
    return module


def test_hooks_are_marked_in_definition_order() -> None:
    """
    @micro.on_start and @micro.on_stop mark functions (returned as they
    are); App.of finds them, with the other marks.
    """
    @micro.on_start
    def first(node: Any) -> None: ...

    @micro.on_start
    async def second(node: Any) -> None: ...

    @micro.on_stop
    def closing(node: Any) -> None: ...

    @micro.service
    def prices(payload: Any) -> int:
        return 1

    app = App.of(_module(first=first, second=second, closing=closing, prices=prices))
    assert (app.on_start, app.on_stop, app.services) == ([first, second], [closing], [("prices", prices)])
    assert not app.empty and App.of(_module(only=first)).empty is False and App.of(_module(x=closing)).empty
    assert repr(app) == "<App shop_app: 1 services, 0 routes, 0 subscriptions>"


def test_hooks_must_mark_functions() -> None:
    """
    Marking something that is not callable is a TypeError at import time.
    """
    with pytest.raises(TypeError, match="@micro.on_start marks a function, not int"):
        micro.on_start(3)  # type: ignore[arg-type]


def test_start_runs_hooks_then_services_subscriptions_and_routes(cluster: MemoryCluster) -> None:
    """
    start_app runs on_start hooks with the node first, then hosts what is
    marked; stop_app runs on_stop hooks last first, and logs a failing one.
    """
    node = cluster.node()
    seen: list[str] = []

    def hook(n: Any) -> None:
        seen.append(f"hook sees {len(n.instances())} instances")

    def broken(n: Any) -> None:
        raise RuntimeError("cannot close")

    app = App("shop_app", [("prices", lambda p: {"apple": 3})], [("/api/prices", "prices", "dynamic")],
              [("orders", lambda m: seen.append(f"order {m}"))], [hook], [lambda n: seen.append("stopped"), broken])
    cluster.result(start_app(node, app))
    assert seen == ["hook sees 0 instances"]
    assert cluster.result(node.call("prices")) == {"apple": 3}
    cluster.result(node.publish("orders", 7))
    assert seen[-1] == "order 7"
    with capturedLogs() as events:
        cluster.result(stop_app(node, app))
    assert seen[-1] == "stopped"
    assert [e["hook"] for e in events if "log_failure" in e] == ["broken"]
