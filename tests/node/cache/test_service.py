"""
The cache service through call_service, on an in-memory cluster and a
fake clock: every command, TTLs, eviction, settings, bad input.
"""

from __future__ import annotations

from typing import Any

import pytest

from micro import HttpError
from micro.testing import MemoryCluster


@pytest.fixture
def cache(cluster: MemoryCluster) -> Any:
    node = cluster.node(home="http://cache.test")
    return cluster.result(node.cache_service(expire_time=60_000, eviction_interval=30_000))


@pytest.fixture
def client(cluster: MemoryCluster, cache: Any) -> Any:
    """
    Calls the cache from another node, over (in-memory) HTTP.
    """
    node = cluster.node(home="http://client.test")
    return lambda payload: cluster.result(node.call("cache", payload))


def test_set_then_get(client: Any) -> None:
    """
    A value set is read back by get; set answers the keys it stored.
    """
    assert client({"set": {"user": {"name": "Alice"}, "n": 3}}) == {"ok": True, "set": ["user", "n"]}
    assert client({"get": "user"}) == {"name": "Alice"}
    assert client({"get": "n"}) == 3


def test_missing_key_reads_as_none(client: Any) -> None:
    """
    get of a key never set answers None.
    """
    assert client({"get": "nobody"}) is None


def test_falsy_values_round_trip(client: Any) -> None:
    """
    0, "", False, None, [] and {} come back as themselves.
    """
    values = {"zero": 0, "empty": "", "no": False, "none": None, "list": [], "obj": {}}
    client({"set": values})
    assert [client({"get": key}) for key in values] == list(values.values())
    assert client({"get": "*"}) == values


def test_get_star_returns_live_keys_only(cluster: MemoryCluster, client: Any) -> None:
    """
    get "*" lists every live key, without the expired ones.
    """
    client({"set": {"keep": 1}})
    client({"setex": {"brief": 2}})
    client({"set": {"short": 3}, "ex": {"short": 1000}})
    cluster.advance(1.0)
    assert client({"get": "*"}) == {"keep": 1, "brief": 2}
    cluster.advance(59.0)
    assert client({"get": "*"}) == {"keep": 1}


def test_setex_uses_the_default_ttl(cluster: MemoryCluster, client: Any) -> None:
    """
    setex keys live for expire_time (60 s here) and not a moment longer.
    """
    assert client({"setex": {"token": "abc"}}) == {"ok": True, "setex": ["token"]}
    cluster.advance(59.9)
    assert client({"get": "token"}) == "abc"
    cluster.advance(0.1)
    assert client({"get": "token"}) is None


def test_setex_with_ex_in_one_payload_sets_a_custom_ttl(cluster: MemoryCluster, client: Any) -> None:
    """
    The seed's form {setex: {...}, ex: {...}} stores with the given TTL.
    """
    assert client({"setex": {"session": "s"}, "ex": {"session": 300_000}}) == {
        "ok": True, "setex": ["session"], "ex": ["session"]}
    cluster.advance(299.0)
    assert client({"get": "session"}) == "s"
    cluster.advance(1.0)
    assert client({"get": "session"}) is None


def test_ex_null_makes_a_key_permanent_and_skips_missing_keys(cluster: MemoryCluster, client: Any) -> None:
    """
    ex with null removes a key's expiry; ex of a missing key is not listed.
    """
    client({"setex": {"k": 1}})
    assert client({"ex": {"k": None, "missing": 10}}) == {"ok": True, "ex": ["k"]}
    cluster.advance(1000.0)
    assert client({"get": "k"}) == 1


def test_del_in_every_form(client: Any) -> None:
    """
    del takes a key, a list, or {key: true}, and lists what it deleted.
    """
    client({"set": {"a": 1, "b": 2, "c": 3, "d": 4}})
    assert client({"del": "a"}) == {"ok": True, "del": ["a"]}
    assert client({"del": ["b", "zz"]}) == {"ok": True, "del": ["b"]}
    assert client({"del": {"c": True}}) == {"ok": True, "del": ["c"]}
    assert client({"get": "*"}) == {"d": 4}


def test_clear_counts_and_empties(client: Any) -> None:
    """
    clear empties the cache and says how many keys it held.
    """
    client({"set": {"a": 1, "b": 2}})
    assert client({"clear": True}) == {"ok": True, "clear": 2}
    assert client({"get": "*"}) == {}


def test_eviction_runs_on_the_interval(cluster: MemoryCluster, cache: Any, client: Any) -> None:
    """
    Expired keys leave memory at the next eviction (every 30 s), not before.
    """
    client({"set": {"k": 1}, "ex": {"k": 1000}})
    cluster.advance(29.0)
    assert len(cache.store) == 1
    cluster.advance(1.0)
    assert len(cache.store) == 0


def test_settings_change_takes_effect_at_once(cluster: MemoryCluster, cache: Any, client: Any) -> None:
    """
    New expire_time applies to the next setex; a new eviction interval
    restarts the loop from now; the reply shows the settings.
    """
    cluster.advance(20.0)
    reply = client({"settings": {"expireTime": 5000, "evictionInterval": 2000}})
    assert reply == {"ok": True, "settings": {"expire_time": 5000.0, "eviction_interval": 2000.0, "max_entries": None}}
    client({"setex": {"k": 1}})  # expires at 25 s
    cluster.advance(4.5)
    assert client({"get": "k"}) == 1
    cluster.advance(0.5)
    assert client({"get": "k"}) is None
    client({"set": {"x": 1}, "ex": {"x": 500}})  # expires at 25.5 s; evictions now at 22, 24, 26 s
    cluster.advance(0.75)
    assert len(cache.store) == 1
    cluster.advance(0.25)
    assert len(cache.store) == 0


def test_eviction_interval_none_stops_the_loop(cluster: MemoryCluster, cache: Any, client: Any) -> None:
    """
    Setting eviction_interval to null stops eviction; expired keys still
    never read.
    """
    client({"settings": {"eviction_interval": None}})
    assert not cache.evicting
    client({"set": {"k": 1}, "ex": {"k": 1000}})
    cluster.advance(100.0)
    assert len(cache.store) == 1
    assert client({"get": "k"}) is None


def test_max_entries_keeps_the_most_recently_used(cluster: MemoryCluster, client: Any) -> None:
    """
    With max_entries 2, the least recently used key goes first.
    """
    client({"settings": {"max_entries": 2}})
    client({"set": {"a": 1}})
    client({"set": {"b": 2}})
    client({"get": "a"})
    client({"set": {"c": 3}})
    assert client({"get": "*"}) == {"a": 1, "c": 3}


@pytest.mark.parametrize("payload, words", [
    ("get", "a cache command is an object"),
    ({}, "a cache command is an object"),
    ({"fetch": "k"}, "unknown cache command 'fetch'"),
    ({"get": 5}, "get takes a key"),
    ({"get": "k", "set": {"a": 1}}, "cannot be combined"),
    ({"set": "k"}, "set takes a non-empty object"),
    ({"set": {}}, "set takes a non-empty object"),
    ({"set": {"*": 1}}, "reserved"),
    ({"setex": ["k"]}, "setex takes a non-empty object"),
    ({"ex": {"k": -1}}, "ex time for 'k' must be a positive number"),
    ({"ex": {"k": "soon"}}, "ex time for 'k'"),
    ({"ex": {"k": True}}, "ex time for 'k'"),
    ({"ex": []}, "ex takes an object"),
    ({"del": 5}, "del takes a key"),
    ({"del": {"k": 1}}, "del takes a key"),
    ({"del": []}, "del takes a key"),
    ({"clear": "yes"}, "clear takes true"),
    ({"settings": 5}, "settings takes an object"),
    ({"settings": {"expire_time": 0}}, "expire_time must be a positive number"),
    ({"settings": {"eviction_interval": 1}}, "eviction_interval must be a positive number of milliseconds (at least 10)"),
    ({"settings": {"max_entries": 1.5}}, "max_entries must be a positive whole number"),
    ({"settings": {"ttl": 5}}, "unknown cache setting 'ttl'"),
])
def test_invalid_input_is_a_400_naming_the_problem(client: Any, payload: Any, words: str) -> None:
    """
    Each bad command or value is refused with a 400 that says what is wrong.
    """
    with pytest.raises(HttpError) as caught:
        client(payload)
    assert caught.value.status == 400
    assert words in caught.value.message


def test_a_bad_part_changes_nothing(client: Any) -> None:
    """
    A payload whose ex part is invalid does not apply its set part either.
    """
    with pytest.raises(HttpError):
        client({"set": {"k": 1}, "ex": {"k": "bad"}})
    assert client({"get": "k"}) is None


def test_in_process_calls_behave_like_remote_ones(cluster: MemoryCluster, cache: Any) -> None:
    """
    A call from the cache's own node (in-process) sees the same values and errors.
    """
    node = cache.instance.node
    cluster.result(node.call("cache", {"set": {"zero": 0}}))
    assert cluster.result(node.call("cache", {"get": "zero"})) == 0
    with pytest.raises(HttpError) as caught:
        cluster.result(node.call("cache", {"nope": 1}))
    assert caught.value.status == 400


def test_terminate_stops_timers_and_unregisters(cluster: MemoryCluster, cache: Any) -> None:
    """
    terminate() stops the eviction loop and removes the service.
    """
    assert cache.evicting
    cluster.result(cache.terminate())
    assert not cache.evicting
    assert "cache" not in cluster.stacks[0].state.table()
    loops = [c for c in cluster.clock.getDelayedCalls() if "LoopingCall" in repr(c.func)]
    assert loops == []


def test_node_terminate_stops_the_eviction_loop(cluster: MemoryCluster, cache: Any) -> None:
    """
    Terminating the node that hosts the cache stops its eviction loop too.
    """
    cluster.result(cache.instance.node.terminate())
    assert not cache.evicting


@pytest.mark.parametrize("options, words", [
    ({"expire_time": -1}, "expire_time"),
    ({"eviction_interval": "often"}, "eviction_interval"),
    ({"max_entries": 0}, "max_entries"),
])
def test_bad_constructor_arguments_raise_value_error(cluster: MemoryCluster, options: Any, words: str) -> None:
    """
    cache_service() with a bad setting fails with a ValueError naming it.
    """
    node = cluster.node()
    with pytest.raises(ValueError, match=words):
        cluster.result(node.cache_service(**options))


def test_no_default_ttl_keeps_setex_keys(cluster: MemoryCluster) -> None:
    """
    With expire_time None, setex keys never expire.
    """
    node = cluster.node()
    cluster.result(node.cache_service(expire_time=None, eviction_interval=None))
    cluster.result(node.call("cache", {"setex": {"k": 1}}))
    cluster.advance(10_000.0)
    assert cluster.result(node.call("cache", {"get": "k"})) == 1
