"""
Leases at the registry: renewal by watching or heartbeats, expiry, eviction
of a node and its instances, and the settle command (fake clock, no
network).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from twisted.internet.task import Clock

from micro._registry.commands import Sender
from micro._registry.state import RegistryState
from micro._registry.watch_hub import BROADCAST_SPACING, FLUSH_BATCH, MAX_HOLD, WatchHub
from micro.testing import MemoryCluster
from tests._helpers import fired

TTL = 4.0


def _hub(clock: Clock, ttl: float = TTL) -> tuple[RegistryState, WatchHub]:
    registry = RegistryState(clock, ttl=ttl)
    return registry, WatchHub(registry, clock)


def test_lease_expires_after_ttl_and_evicts_every_instance_of_the_node() -> None:
    """
    A node that never renews loses its lease exactly ttl seconds after its
    registration, with all its instances, as one recorded change each.
    """
    clock = Clock()
    registry = RegistryState(clock, ttl=TTL)
    registry.register("a", "http://h:1", "n1")
    registry.register("b", "http://h:2", "n1")
    registry.register("a", "http://h:3", "n2")
    clock.advance(TTL - 0.01)
    registry.renew("n2")
    assert registry.table() == {"a": ["http://h:1", "http://h:3"], "b": ["http://h:2"]}
    clock.advance(0.01)
    assert registry.table() == {"a": ["http://h:3"]}
    assert registry.node("n1") is None
    assert registry.changes_since(3) == [("-", "a", "http://h:1"), ("-", "b", "http://h:2")]


def test_renewal_before_expiry_keeps_the_node() -> None:
    """
    Renewing within every ttl keeps a node registered indefinitely.
    """
    clock = Clock()
    registry = RegistryState(clock, ttl=TTL)
    registry.register("a", "http://h:1", "n1")
    for _ in range(20):
        clock.advance(TTL * 0.9)
        assert registry.renew("n1") is True
    assert registry.table() == {"a": ["http://h:1"]}


def test_watching_node_renews_within_ttl_and_is_never_evicted() -> None:
    """
    A node that watches again as soon as each watch is answered (every
    hold = ttl/2 seconds) keeps its lease through ten lease periods.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    registry.register("a", "http://h:1", "n1")
    assert hub.hold == TTL / 2
    answers = 0
    d = hub.watch("n1", registry.epoch, registry.version)
    while clock.seconds() < 10 * TTL:
        clock.advance(0.5)
        if d.called:
            answers += 1
            assert json.loads(fired(d))["changes"] == []
            d = hub.watch("n1", registry.epoch, registry.version)
    assert answers == 10 * TTL / hub.hold
    assert registry.table() == {"a": ["http://h:1"]}


def test_stalled_watcher_is_evicted_one_ttl_after_its_last_watch() -> None:
    """
    A node whose watch is answered but which never watches again (hung, or
    its host vanished) is evicted ttl seconds after that watch began.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    registry.register("a", "http://h:1", "n1")
    clock.advance(1)
    d = hub.watch("n1", registry.epoch, registry.version)
    clock.advance(hub.hold)
    assert fired(d)
    clock.advance(TTL - hub.hold - 0.01)
    assert registry.table() == {"a": ["http://h:1"]}
    clock.advance(0.01)
    assert registry.table() == {}
    assert clock.getDelayedCalls() == []


def test_lost_watch_connection_evicts_at_once() -> None:
    """
    When a held watch is cancelled (its connection dropped: the process
    died), its node is evicted immediately, not at lease expiry.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    registry.register("a", "http://h:1", "n1")
    d = hub.watch("n1", registry.epoch, registry.version)
    d.addErrback(lambda _: None)
    d.cancel()
    assert registry.table() == {}
    assert hub.watching() == 0


def test_eviction_answers_the_pending_watch_as_unknown() -> None:
    """
    A node evicted while its watch is held (it was presumed dead) is told
    as soon as the reactor turn is over, with the whole table and
    known=false, so that it registers again.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    registry.register("a", "http://h:1", "n1")
    d = hub.watch("n1", registry.epoch, registry.version)
    registry.evict("n1", "test")
    clock.advance(0)
    reply = json.loads(fired(d))
    assert reply["known"] is False and reply["services"] == {}


def test_nodes_evicted_together_share_one_table() -> None:
    """
    Every eviction moves the version; the nodes evicted in one turn (leases
    that ran out together) are all given the same reply, not a table each.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    watches = []
    for n in range(5):
        registry.register("a", f"http://h:{n + 1}", f"n{n}")
        hub.watch(f"n{n}", "", -1)
        watches.append(hub.watch(f"n{n}", registry.epoch, registry.version))
    registry.register("b", "http://h:99", "keeper")
    for n in range(5):
        registry.evict(f"n{n}", "test")
    assert not any(d.called for d in watches)
    clock.advance(0)
    replies = [fired(d) for d in watches]
    assert all(reply is replies[0] for reply in replies)
    assert json.loads(replies[0])["services"] == {"b": ["http://h:99"]}
    hub.stop()


def test_watch_from_unknown_node_or_other_epoch_gets_the_whole_table() -> None:
    """
    A watch from a node the registry does not know (it restarted) is
    answered at once with the full table, known=false and the new epoch.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    registry.register("a", "http://h:1", "n1")
    reply = json.loads(fired(hub.watch("n2", "old-epoch", 57)))
    assert reply["known"] is False
    assert reply["epoch"] == registry.epoch
    assert reply["services"] == {"a": ["http://h:1"]}
    assert reply["hold"] == hub.hold


def test_hold_is_below_the_lease_and_capped() -> None:
    """
    The hold defaults to half the lease, is capped for long leases, and a
    hold that would let leases expire under a held watch is refused.
    """
    clock = Clock()
    assert _hub(clock, 4.0)[1].hold == 2.0
    assert _hub(clock, 600.0)[1].hold == MAX_HOLD
    with pytest.raises(ValueError, match="below the lease"):
        WatchHub(RegistryState(clock, ttl=4.0), clock, hold=4.0)


def test_heartbeat_renews_and_says_when_the_node_is_unknown() -> None:
    """
    The heartbeat command keeps a non-watching registration alive and
    answers known=false for a node the registry does not know.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    commands, clock = stack.commands, cluster.clock
    stack.state.register("a", "http://h:1")  # no node: the location is its own lease holder
    for _ in range(5):
        clock.advance(TTL * 0.9)
        reply = commands.run({"heartbeat": {"node": "http://h:1"}}, Sender())
        assert reply["known"] is True
    assert stack.state.table() == {"a": ["http://h:1"]}
    clock.advance(TTL)
    assert stack.state.table() == {}
    assert commands.run({"heartbeat": {"node": "http://h:1"}}, Sender())["known"] is False


def test_settle_waits_for_every_watching_node_to_acknowledge() -> None:
    """
    Settle answers once every node that was behind has watched again with
    the version, or has been evicted, and not before.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    for node in ("n1", "n2", "n3"):
        hub.watch(node, registry.epoch, registry.version)
    version = registry.register("a", "http://h:1", "n1")
    clock.advance(0)
    settled = hub.settle(version, timeout=2)
    hub.watch("n1", registry.epoch, version)
    hub.watch("n2", registry.epoch, version - 1)
    assert not settled.called
    hub.watch("n2", registry.epoch, version)
    assert not settled.called
    registry.evict("n3", "test")
    assert fired(settled) == {"settled": True, "lagging": 0}


def test_settle_gives_up_at_its_deadline_and_counts_the_laggards() -> None:
    """
    A node that never acknowledges (hung) holds a settle only until its
    timeout, which then reports how many nodes lag.
    """
    clock = Clock()
    registry, hub = _hub(clock, ttl=100)
    hub.watch("n1", registry.epoch, registry.version)
    hub.watch("n2", registry.epoch, registry.version)
    version = registry.register("a", "http://h:1", "n1")
    clock.advance(0)
    settled = hub.settle(version, timeout=2)
    hub.watch("n1", registry.epoch, version)
    clock.advance(1.99)
    assert not settled.called
    clock.advance(0.01)
    assert fired(settled) == {"settled": False, "lagging": 1}


def _costly_answers(clock: Clock, d: Any, cost: float) -> None:
    """
    Make answering the watch C{d} take C{cost} seconds of C{clock}.
    """
    def spend(result: object) -> object:
        clock.rightNow += cost
        return result
    d.addCallback(spend)


def test_broadcasts_under_churn_are_spaced_by_what_they_cost() -> None:
    """
    Right after a broadcast that took c seconds, the next change waits
    BROADCAST_SPACING * c before going out; after a quiet spell it goes out
    at once.
    """
    clock = Clock()
    registry, hub = _hub(clock, ttl=100)
    for node in ("n1", "n2"):
        hub.watch(node, "", -1)
        _costly_answers(clock, hub.watch(node, registry.epoch, registry.version), 0.01)
    registry.register("a", "http://h:1", "n1")
    clock.advance(0)
    assert hub.watching() == 0
    spacing = BROADCAST_SPACING * 0.02
    watches = [hub.watch(node, registry.epoch, registry.version) for node in ("n1", "n2")]
    registry.register("a", "http://h:2", "n1")
    clock.advance(spacing - 0.02 - 0.001)
    assert not any(d.called for d in watches)
    clock.advance(0.001)
    assert all(d.called for d in watches)
    watches = [hub.watch(node, registry.epoch, registry.version) for node in ("n1", "n2")]
    clock.advance(spacing)
    registry.register("a", "http://h:3", "n1")
    clock.advance(0)
    assert all(d.called for d in watches)


def test_a_broadcast_to_many_nodes_yields_between_batches() -> None:
    """
    A change for more than FLUSH_BATCH waiting nodes is answered in batches
    on separate reactor turns, so the registry keeps serving meanwhile, and
    every node gets it.
    """
    clock = Clock()
    registry, hub = _hub(clock, ttl=100)
    count = FLUSH_BATCH * 2 + 7
    for n in range(count):
        hub.watch(f"n{n}", "", -1)
    watches = [hub.watch(f"n{n}", registry.epoch, registry.version) for n in range(count)]
    registry.register("a", "http://h:1", "n0")
    turns = []
    while clock.calls and clock.calls[0].getTime() <= clock.seconds():
        call = clock.calls.pop(0)
        call.func(*call.args, **call.kw)
        turns.append(sum(1 for d in watches if d.called))
    assert turns == [FLUSH_BATCH, 2 * FLUSH_BATCH, count]
    assert all(json.loads(fired(d))["changes"] == [["+", "a", "http://h:1"]] for d in watches)


def test_a_late_answer_does_not_eat_into_the_lease() -> None:
    """
    When the registry answers a watch late (it was busy), the node still
    has ttl - hold seconds from the answer to watch again.
    """
    clock = Clock()
    registry, hub = _hub(clock)
    registry.register("a", "http://h:1", "n1")
    d = hub.watch("n1", registry.epoch, registry.version)
    clock.advance(TTL - 0.5)  # the hold timer fires 1.5 s late
    assert fired(d)
    clock.advance(TTL - hub.hold - 0.01)
    assert registry.table() == {"a": ["http://h:1"]}
    clock.advance(0.01)
    assert registry.table() == {}
