"""
The Python face of pub/sub: argument checks, @micro.subscribe, the
twistd plugin hosting subscriptions, the exports.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

import micro
from micro._app import api as _api
from micro._app import marks as _marks
from micro._app.marks import marked_subscriptions
from micro._node.cache import service as _cache_service
from micro._node.pubsub import service as _pubsub_service
from micro._app.hosting import App
from micro._twistd.node_service import NodeService
from micro._twistd.service_tap import Options
from micro.testing import MemoryCluster


@pytest.fixture
def pubsub(cluster: MemoryCluster) -> Any:
    return cluster.result(cluster.node().create_pubsub_service())


@pytest.mark.parametrize("channel, handler, error, words", [
    ("", print, ValueError, "must not be empty"),
    (None, print, TypeError, "must be a string"),
    (42, print, TypeError, "must be a string"),
    ("two words", print, ValueError, "spaces"),
    ("orders.", print, ValueError, "empty segment"),
    ("orders*", print, ValueError, "whole segment"),
    ("orders", "not callable", TypeError, "must be callable"),
    ("orders", None, TypeError, "must be callable"),
])
def test_subscribe_rejects_bad_arguments_at_once(pubsub: Any, channel: Any, handler: Any, error: type,
                                                 words: str) -> None:
    """
    subscribe() raises TypeError or ValueError naming the problem, before
    anything is sent.
    """
    with pytest.raises(error, match=words):
        pubsub.subscribe(channel, handler)
    assert pubsub.list_subscriptions() == {}


@pytest.mark.parametrize("channel, message, options, error, words", [
    ("", 1, {}, ValueError, "must not be empty"),
    (["x"], 1, {}, TypeError, "must be a string"),
    ("orders.*", 1, {}, ValueError, "'\\*' is for subscriptions"),
    ("orders", object(), {}, TypeError, "not JSON-serializable"),
    ("orders", b"raw", {}, TypeError, "not JSON-serializable"),
    ("orders", 1, {"timeout": 0}, ValueError, "timeout"),
    ("orders", 1, {"timeout": 61}, ValueError, "timeout"),
])
def test_publish_rejects_bad_arguments_at_once(pubsub: Any, channel: Any, message: Any, options: Any,
                                               error: type, words: str) -> None:
    """
    publish() raises TypeError or ValueError naming the problem.
    """
    with pytest.raises(error, match=words):
        pubsub.publish(channel, message, **options)


def test_unsubscribe_unknown_id_raises_value_error(cluster: MemoryCluster, pubsub: Any) -> None:
    """
    Unsubscribing an id that was never returned, or with the wrong
    channel, raises ValueError and leaves the subscription alone.
    """
    sub_id = cluster.result(pubsub.subscribe("news", lambda m: m))
    with pytest.raises(ValueError, match="no subscription 'sub-nope'"):
        pubsub.unsubscribe("news", "sub-nope")
    with pytest.raises(ValueError, match="to channel 'sports'"):
        pubsub.unsubscribe("sports", sub_id)
    assert pubsub.list_subscriptions() == {"news": [sub_id]}


def test_list_subscriptions_shows_only_this_services_own(cluster: MemoryCluster) -> None:
    """
    Two pub/sub services of one process each list their own subscriptions,
    and terminating one leaves the other's working.
    """
    node = cluster.node()
    first = cluster.result(node.create_pubsub_service())
    second = cluster.result(node.create_pubsub_service())
    a = cluster.result(first.subscribe("news", lambda m: "first"))
    b = cluster.result(second.subscribe("news", lambda m: "second"))
    assert first.list_subscriptions() == {"news": [a]}
    assert second.list_subscriptions() == {"news": [b]}
    cluster.result(first.terminate())
    outcome = cluster.result(second.publish("news", 1))
    assert [r["result"] for r in outcome["results"]] == ["second"]


def test_subscribe_mark_records_channels_in_order() -> None:
    """
    @micro.subscribe marks stack, and marked_subscriptions finds them in
    definition order, leaving the function callable.
    """
    module = types.ModuleType("app")

    @micro.subscribe("orders.created")
    @micro.subscribe("orders.paid")
    def on_order(message: Any) -> Any:
        return message

    @micro.subscribe("audit")
    def on_audit(message: Any) -> None:
        return None

    setattr(module, "on_order", on_order)
    setattr(module, "on_audit", on_audit)
    assert marked_subscriptions(module) == [("orders.created", on_order), ("orders.paid", on_order),
                                            ("audit", on_audit)]
    assert on_order(5) == 5


def test_subscribe_mark_rejects_a_bad_channel() -> None:
    """
    @micro.subscribe("") fails at import time with a ValueError.
    """
    with pytest.raises(ValueError):
        micro.subscribe("")


def test_service_plugin_accepts_a_module_with_only_subscriptions(tmp_path: Any, monkeypatch: Any) -> None:
    """
    twistd micro-service --module takes a module whose functions are only
    @micro.subscribe handlers.
    """
    (tmp_path / "listener_app.py").write_text(
        "import micro\n\n@micro.subscribe('news')\ndef on_news(message):\n    return message\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    options = Options()
    options.parseOptions(["--module", "listener_app"])
    assert options["services"] == []
    assert [channel for channel, _ in options["subscriptions"]] == ["news"]


def test_node_service_subscribes_marked_handlers(cluster: MemoryCluster) -> None:
    """
    The service that twistd runs subscribes each marked handler once the
    registry answers.
    """
    node = cluster.node()
    app = App("news_app", [], [], [("news", lambda m: f"seen {m}")], [], [])
    service = NodeService(node, app, 1.0, 1.0, on_failure=lambda: None)
    service.startService()
    cluster.settle()
    outcome = cluster.result(node.publish("news", 1))
    assert [r["result"] for r in outcome["results"]] == ["seen 1"]
    cluster.result(service.stopService())
    assert cluster.stacks[0].pubsub.channels() == {}


def test_exports_resolve() -> None:
    """
    The public names of pub/sub and cache are the private modules' objects.
    """
    assert micro.create_pubsub_service is _api.create_pubsub_service
    assert micro.cache_service is _api.cache_service
    assert micro.PubSubService is _pubsub_service.PubSubService
    assert micro.CacheService is _cache_service.CacheService
    assert micro.subscribe is _marks.subscribe
    assert set(micro.__all__) >= {"create_pubsub_service", "cache_service", "subscribe", "PubSubService",
                                  "CacheService"}
