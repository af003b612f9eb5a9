"""
The registry's instance table and its change log.
"""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from micro import HttpError
from micro._registry.state import RegistryState


def test_instances_keep_registration_order() -> None:
    """
    The table lists instances of a service in the order they registered.
    """
    registry = RegistryState(Clock())
    for port in (3, 1, 2):
        registry.register("svc", f"http://h:{port}", "n1")
    assert registry.table() == {"svc": ["http://h:3", "http://h:1", "http://h:2"]}


def test_every_change_is_versioned_and_replayable() -> None:
    """
    changes_since returns exactly the changes after a version, in order.
    """
    registry = RegistryState(Clock())
    v1 = registry.register("a", "http://h:1", "n1")
    registry.register("b", "http://h:2", "n1")
    registry.unregister("a", "http://h:1")
    assert registry.version == 3
    assert registry.changes_since(v1) == [("+", "b", "http://h:2"), ("-", "a", "http://h:1")]
    assert registry.changes_since(3) == []
    assert registry.changes_since(4) is None


def test_old_changes_are_forgotten_beyond_the_log() -> None:
    """
    A caller too far behind is told to take the whole table.
    """
    registry = RegistryState(Clock(), log_size=2)
    for port in range(5):
        registry.register("a", f"http://h:{port}", "n1")
    assert registry.changes_since(1) is None
    assert registry.changes_since(3) == [("+", "a", "http://h:3"), ("+", "a", "http://h:4")]


def test_registering_again_changes_nothing() -> None:
    """
    The same instance registered twice is one instance and one change.
    """
    registry = RegistryState(Clock())
    registry.register("a", "http://h:1", "n1")
    assert registry.register("a", "http://h:1", "n1") == 1
    assert registry.table() == {"a": ["http://h:1"]}


def test_a_location_hosts_one_service() -> None:
    """
    Registering another service at a taken location is a 409.
    """
    registry = RegistryState(Clock())
    registry.register("a", "http://h:1", "n1")
    with pytest.raises(HttpError) as caught:
        registry.register("b", "http://h:1", "n2")
    assert caught.value.status == 409


def test_unregistering_unknown_is_404() -> None:
    """
    Removing what is not there says so.
    """
    registry = RegistryState(Clock())
    registry.register("a", "http://h:1", "n1")
    with pytest.raises(HttpError) as caught:
        registry.unregister("a", "http://h:2")
    assert caught.value.status == 404
    with pytest.raises(HttpError):
        registry.unregister("b", "http://h:1")


def test_lookup_is_random_among_instances() -> None:
    """
    lookup picks among all instances (over many tries, each one shows up).
    """
    registry = RegistryState(Clock())
    for port in range(3):
        registry.register("a", f"http://h:{port}", "n1")
    assert {registry.lookup("a") for _ in range(200)} == {"http://h:0", "http://h:1", "http://h:2"}
    with pytest.raises(HttpError) as caught:
        registry.lookup("b")
    assert caught.value.status == 404 and "'b'" in caught.value.message


def test_unregistered_ports_are_free_again() -> None:
    """
    setup hands out the port of an instance that went away.
    """
    registry = RegistryState(Clock())
    registry.ports.base_port = 9999
    location = registry.ports.allocate("http://h")
    registry.register("a", location, "n1")
    registry.unregister("a", location)
    assert registry.ports.allocate("http://h") == location
