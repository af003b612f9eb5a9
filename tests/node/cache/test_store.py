"""
The cache's memory on a fake clock: expiry, eviction, the LRU bound.
"""

from __future__ import annotations

from twisted.internet.task import Clock

from micro._node.cache.store import TtlStore


def test_falsy_values_are_stored_and_read_back() -> None:
    """
    0, "", False, None, [] and {} come back as themselves, not as missing.
    """
    store = TtlStore(Clock())
    values: list[object] = [0, "", False, None, [], {}]
    for n, value in enumerate(values):
        store.set(f"k{n}", value)
    assert [store.get(f"k{n}", "MISSING") for n in range(6)] == [0, "", False, None, [], {}]
    assert store.get("absent", "MISSING") == "MISSING"


def test_expired_key_is_never_read_even_before_eviction() -> None:
    """
    A key past its TTL reads as missing at once, though no eviction ran.
    """
    clock = Clock()
    store = TtlStore(clock)
    store.set("k", "v", ttl=10)
    clock.advance(9.999)
    assert store.get("k") == "v"
    clock.advance(0.001)
    assert store.get("k", "MISSING") == "MISSING"
    assert dict(store.items()) == {}
    assert "k" not in store


def test_evict_expired_drops_only_dead_keys() -> None:
    """
    Eviction removes expired keys from memory and keeps the others.
    """
    clock = Clock()
    store = TtlStore(clock)
    store.set("short", 1, ttl=1)
    store.set("long", 2, ttl=100)
    store.set("forever", 3)
    clock.advance(5)
    assert store.evict_expired() == 1
    assert len(store) == 2
    assert dict(store.items()) == {"long": 2, "forever": 3}


def test_set_without_ttl_clears_an_earlier_expiry() -> None:
    """
    Storing a key again without a TTL makes it permanent.
    """
    clock = Clock()
    store = TtlStore(clock)
    store.set("k", 1, ttl=1)
    store.set("k", 2)
    clock.advance(10)
    assert store.get("k") == 2


def test_expire_changes_ttl_of_live_keys_only() -> None:
    """
    expire() sets a new TTL on a live key, or removes it with None; a
    missing key reports False.
    """
    clock = Clock()
    store = TtlStore(clock)
    store.set("k", 1)
    assert store.expire("k", 5) is True
    assert store.expires_at("k") == 5
    assert store.expire("k", None) is True
    clock.advance(10)
    assert store.get("k") == 1
    assert store.expire("missing", 5) is False


def test_lru_bound_drops_least_recently_used() -> None:
    """
    With max_entries 2, reading a key keeps it; the least recently used
    one goes when a third arrives.
    """
    store = TtlStore(Clock(), max_entries=2)
    store.set("a", 1)
    store.set("b", 2)
    assert store.get("a") == 1
    store.set("c", 3)
    assert dict(store.items()) == {"a": 1, "c": 3}


def test_lowering_the_bound_trims_at_once() -> None:
    """
    bound() after lowering max_entries drops the excess, oldest first.
    """
    store = TtlStore(Clock())
    for key in "abcde":
        store.set(key, key)
    store.max_entries = 2
    assert store.bound() == 3
    assert [key for key, _ in store.items()] == ["d", "e"]


def test_clear_and_delete_count_live_keys() -> None:
    """
    delete() says whether a live key was there; clear() counts live keys.
    """
    clock = Clock()
    store = TtlStore(clock)
    store.set("a", 1)
    store.set("b", 2, ttl=1)
    store.set("c", 3)
    clock.advance(2)
    assert store.delete("a") is True
    assert store.delete("b") is False
    assert store.clear() == 1
    assert len(store) == 0
