"""
micro cache get|set|del|keys against an in-memory cluster.
"""

from __future__ import annotations

import json

from micro.testing import MemoryCluster
from tests._cli import Shell


def _cache(cluster: MemoryCluster, name: str = "cache") -> None:
    cluster.result(cluster.node().cache_service(name=name))


def test_set_get_keys_del(cluster: MemoryCluster) -> None:
    """
    The four commands round-trip values of every JSON type.
    """
    _cache(cluster)
    shell = Shell(cluster)
    assert shell.run("cache", "set", "user:1", '{"name": "Alice"}').text == "set user:1\n"
    assert shell.run("cache", "set", "visits", "0").status == 0
    assert json.loads(shell.run("cache", "get", "user:1").text) == {"name": "Alice"}
    assert shell.run("cache", "get", "visits").text == "0\n"
    assert shell.run("cache", "keys").lines == ["user:1", "visits"]
    assert shell.run("cache", "keys", "--values").lines[1:] == ['user:1  {"name": "Alice"}', "visits  0"]
    assert shell.run("cache", "del", "visits", "never").lines == ["visits"]
    assert shell.run("cache", "get", "visits").text == "null\n"
    assert json.loads(shell.run("--json", "cache", "keys", "--values").text) == {"user:1": {"name": "Alice"}}


def test_ttl_expires_a_key(cluster: MemoryCluster) -> None:
    """
    --ttl MS: the key is gone once that many milliseconds have passed.
    """
    _cache(cluster)
    shell = Shell(cluster)
    assert shell.run("cache", "set", "session", '"abc"', "--ttl", "1500").text == "set session for 1500 ms\n"
    assert shell.run("cache", "get", "session").text == '"abc"\n'
    cluster.advance(1.5)
    assert shell.run("cache", "get", "session").text == "null\n"


def test_another_cache_service_by_name(cluster: MemoryCluster) -> None:
    """
    --service names a cache that runs under another name.
    """
    _cache(cluster, "sessions")
    shell = Shell(cluster)
    assert shell.run("cache", "--service", "sessions", "set", "k", "1").status == 0
    assert shell.run("cache", "-s", "sessions", "get", "k").text == "1\n"
    missing = shell.run("cache", "get", "k")
    assert missing.status == 1 and missing.stderr == "micro: 404: no service named 'cache' is registered\n"
