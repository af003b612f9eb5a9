"""
The --store URL: memory, or a Redis address; bad ones refused with one line.
"""

from __future__ import annotations

import pytest

from micro._kernel.errors import InvalidArgument
from micro._registry.store.redis_address import RedisAddress, parse_store_url


def test_memory_is_the_default() -> None:
    """
    An empty URL and 'memory' mean the store in this process.
    """
    assert parse_store_url("") is None
    assert parse_store_url(" memory ") is None


def test_a_redis_url_names_server_database_password_and_cluster() -> None:
    """
    Host, port, database, password (percent-decoded) and cluster all come from the URL; defaults fill the rest.
    """
    assert parse_store_url("redis://r.example") == RedisAddress("r.example", 6379, 0)
    address = parse_store_url("redis://:p%40ss@10.0.0.2:6380/3?cluster=shop")
    assert address == RedisAddress("10.0.0.2", 6380, 3, "p@ss", None, "shop")
    assert address.prefix == "micro:{shop}:"
    assert address.describe() == "redis://10.0.0.2:6380/3?cluster=shop"
    assert "p@ss" not in address.describe()


@pytest.mark.parametrize("text, words", [
    ("http://localhost:6379", "not a redis:// URL"),
    ("redis://", "not a redis:// URL"),
    ("redis://h:notaport", "is not valid"),
    ("redis://h/zero", "must be a number"),
    ("redis://h/0?db=2", "unknown parts"),
    ("redis://h/0?cluster=a%20b", "cluster name"),
])
def test_bad_urls_are_refused_with_a_message(text: str, words: str) -> None:
    """
    Every malformed store URL is an InvalidArgument that says what is wrong.
    """
    with pytest.raises(InvalidArgument, match=words):
        parse_store_url(text)
