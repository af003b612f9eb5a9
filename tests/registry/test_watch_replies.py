"""
Watch replies built from changes encoded once (fake clock).
"""

from __future__ import annotations

import json

from twisted.internet.task import Clock

from micro._registry.state import RegistryState
from micro._registry.watch_replies import WatchReplies


def _registry(log_size: int = 10_000) -> tuple[RegistryState, WatchReplies]:
    registry = RegistryState(Clock(), ttl=4.0, log_size=log_size, recovering_for=0.0)
    replies = WatchReplies(registry, 2.0)
    registry.on_change(replies.changed)
    return registry, replies


def test_reply_since_any_version_holds_exactly_the_later_changes() -> None:
    """
    For every version, the reply decodes to the changes after it, in order,
    with the registry's epoch, version and hold.
    """
    registry, replies = _registry()
    for n in range(30):
        registry.register(f"s{n % 3}", f"http://h:{n + 1}", "n1")
    registry.unregister("s0", "http://h:1")
    log = [("+", f"s{n % 3}", f"http://h:{n + 1}") for n in range(30)] + [("-", "s0", "http://h:1")]
    for version in range(registry.version + 1):
        reply = json.loads(replies.since(version))
        assert reply["changes"] == [list(change) for change in log[version:]]
        assert (reply["epoch"], reply["version"], reply["hold"], reply["recovering"]) == (
            registry.epoch, 31, 2.0, False)


def test_versions_older_than_the_log_get_the_whole_table() -> None:
    """
    A node further behind than the kept log gets the whole table instead.
    """
    registry, replies = _registry(log_size=10)
    for n in range(40):
        registry.register("s", f"http://h:{n + 1}", "n1")
    reply = json.loads(replies.since(3))
    assert "changes" not in reply and len(reply["services"]["s"]) == 40
    assert [c[2] for c in json.loads(replies.since(35))["changes"]] == [f"http://h:{n}" for n in range(36, 41)]
