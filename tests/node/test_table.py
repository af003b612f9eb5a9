"""
A caller's copy of the service table.
"""

from __future__ import annotations

from micro._node.table import ServiceTable
from tests._helpers import fired


def test_changes_apply_in_order_and_keep_registration_order() -> None:
    """
    Additions append, removals remove, and empty services disappear.
    """
    table = ServiceTable()
    table.replace("e1", 3, {"a": ["http://h:1"]}, keep_stale=False)
    touched = table.apply(6, [("+", "a", "http://h:2"), ("+", "b", "http://h:3"), ("-", "a", "http://h:1")])
    assert touched == ["http://h:2", "http://h:3", "http://h:1"]
    assert table.snapshot() == {"a": ["http://h:2"], "b": ["http://h:3"]}
    table.apply(7, [("-", "b", "http://h:3")])
    assert table.locations("b") == [] and table.version == 7


def test_repeated_changes_are_harmless() -> None:
    """
    Adding a known location or removing an unknown one changes nothing.
    """
    table = ServiceTable()
    table.replace("e1", 1, {"a": ["http://h:1"]}, keep_stale=False)
    table.apply(3, [("+", "a", "http://h:1"), ("-", "z", "http://h:9")])
    assert table.snapshot() == {"a": ["http://h:1"]}


def test_stale_entries_stay_until_forgotten() -> None:
    """
    After a registry restart, the old entries stay callable, behind the new
    ones, until the table is told to forget them.
    """
    table = ServiceTable()
    table.replace("old", 9, {"a": ["http://h:1", "http://h:2"]}, keep_stale=False)
    table.replace("new", 1, {"a": ["http://h:2"]}, keep_stale=True)
    assert table.locations("a") == ["http://h:2", "http://h:1"]
    table.forget_stale()
    assert table.locations("a") == ["http://h:2"]


def test_waiters_fire_when_their_version_arrives() -> None:
    """
    wait_for fires at once for a version held, else when it is reached.
    """
    table = ServiceTable()
    assert not table.loaded
    early = table.wait_for(2)
    table.replace("e", 1, {}, keep_stale=False)
    assert not early.called
    table.apply(2, [])
    assert fired(early) is None
    assert fired(table.wait_for(1)) is None


def test_waiters_are_released_on_a_new_epoch() -> None:
    """
    Versions of a new registry say nothing of old ones: waiters are released.
    """
    table = ServiceTable()
    table.replace("e", 1, {}, keep_stale=False)
    waiting = table.wait_for(50)
    table.release_waiters()
    assert fired(waiting) is None
