"""
Long-poll watches: what nodes are told, and when.
"""

from __future__ import annotations

import json

from twisted.internet.task import Clock

from micro._registry.records import InstanceRecord
from micro._registry.state import RegistryState
from micro._registry.watch_hub import WatchHub
from tests._helpers import fired


def _hub(clock: Clock, **options: float) -> tuple[RegistryState, WatchHub]:
    registry = RegistryState(clock, ttl=4.0, recovering_for=0.0)
    return registry, WatchHub(registry, clock, **options)


def test_first_watch_gets_the_whole_table() -> None:
    """
    A node that knows no epoch gets the full table at once.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    registry.register("a", "http://h:1", "n1")
    reply = json.loads(fired(hub.watch("n2", "", -1)))
    assert reply["services"] == {"a": ["http://h:1"]}
    assert (reply["epoch"], reply["version"], reply["known"]) == (registry.epoch, 1, False)
    hub.stop()


def test_current_watch_waits_for_a_change_and_gets_only_it() -> None:
    """
    A node at the current version is answered when the table changes, with
    just the change.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    hub.watch("n1", "", -1)
    pending = hub.watch("n1", registry.epoch, 0)
    clock.advance(1.0)
    assert not pending.called
    registry.register("a", "http://h:1", "n2")
    clock.advance(0)
    reply = json.loads(fired(pending))
    assert reply == {"epoch": registry.epoch, "version": 1, "changes": [["+", "a", "http://h:1"]],
                     "recovering": False, "hold": hub.hold}
    hub.stop()


def test_quiet_watch_is_answered_after_hold() -> None:
    """
    With no change, the watch is answered empty after hold seconds.
    """
    clock = Clock()
    registry, hub = _hub(clock, hold=2.0)
    hub.watch("n1", "", -1)
    pending = hub.watch("n1", registry.epoch, 0)
    clock.advance(1.9)
    assert not pending.called
    clock.advance(0.1)
    assert json.loads(fired(pending))["changes"] == []


def test_broadcasts_are_spaced_under_churn() -> None:
    """
    A burst of changes right after a broadcast waits for the spacing, then
    goes out as one answer.
    """
    clock = Clock()
    registry, hub = _hub(clock, min_interval=0.5)
    hub.watch("n1", "", -1)
    first = hub.watch("n1", registry.epoch, 0)
    registry.register("a", "http://h:1", "n2")
    clock.advance(0)
    assert json.loads(fired(first))["version"] == 1
    second = hub.watch("n1", registry.epoch, 1)
    registry.register("a", "http://h:2", "n2")
    registry.register("a", "http://h:3", "n2")
    clock.advance(0.4)
    assert not second.called
    clock.advance(0.1)
    assert [change[2] for change in json.loads(fired(second))["changes"]] == ["http://h:2", "http://h:3"]
    hub.stop()


def test_one_encoding_serves_every_node_at_a_version() -> None:
    """
    Nodes at the same version are sent the very same bytes.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    watches = []
    for node in ("n1", "n2", "n3"):
        hub.watch(node, "", -1)
        watches.append(hub.watch(node, registry.epoch, 0))
    registry.register("a", "http://h:1", "n9")
    clock.advance(0)
    replies = [fired(w) for w in watches]
    assert replies[0] is replies[1] is replies[2]
    hub.stop()


def test_settle_waits_until_every_watcher_holds_the_version() -> None:
    """
    settle fires once every watching node has come back with the version,
    or reports the laggards at its deadline.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    for node in ("n1", "n2"):
        hub.watch(node, "", -1)
        hub.watch(node, registry.epoch, 0)
    version = registry.register("a", "http://h:1", "n9")
    done = hub.settle(version, timeout=2.0)
    clock.advance(0)
    hub.watch("n1", registry.epoch, version)
    assert not done.called
    hub.watch("n2", registry.epoch, version)
    assert fired(done) == {"settled": True, "lagging": 0}

    later = registry.register("a", "http://h:2", "n9")
    deadline = hub.settle(later, timeout=2.0)
    clock.advance(2.0)
    assert fired(deadline) == {"settled": False, "lagging": 2}
    hub.stop()


def test_unknown_node_is_told_so() -> None:
    """
    A node the registry does not know (same epoch) is answered at once with
    the table and known=false, so that it registers again.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    reply = json.loads(fired(hub.watch("ghost", registry.epoch, 0)))
    assert reply["known"] is False and "services" in reply
    hub.stop()


def test_storms_space_broadcasts_up_to_the_hold() -> None:
    """
    Broadcasts are at most 2 s apart, except in a storm of changes, when
    they may wait up to the hold so that registrations keep flowing.
    """
    clock = Clock()
    registry = RegistryState(clock, ttl=20.0, recovering_for=0.0)
    hub = WatchHub(registry, clock, spacing_per_watcher=5.0)
    hub.watch("n1", "", -1)
    hub.watch("n1", registry.epoch, 0)
    assert not hub.storm and hub.flush_interval == 2.0
    for port in range(100):
        registry.register("a", f"http://h:{port}", "n2")
    assert hub.storm and hub.flush_interval == 5.0
    clock.advance(2.1)
    hub.watch("n1", registry.epoch, registry.version)
    assert not hub.storm and hub.flush_interval == 2.0
    hub.stop()


def test_a_replaced_view_answers_pending_watches_with_the_new_table() -> None:
    """
    A view reset to a new epoch answers every pending watch at once with the whole new table, never a cached old one.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    hub.watch("n1", "", -1)
    first = json.loads(fired(hub.watch("n1", "", -1)))  # caches the whole table of version 0, for a known node
    assert (first["services"], first["known"]) == ({}, True)
    registry.register("a", "http://h:1", "n1")
    pending = hub.watch("n1", registry.epoch, registry.version)
    registry.reset("new-epoch", 0, 0, [InstanceRecord("b", "http://h:2", "n2", 1)])
    reply = json.loads(fired(pending))
    assert (reply["epoch"], reply["version"], reply["services"]) == ("new-epoch", 0, {"b": ["http://h:2"]})
    hub.stop()
