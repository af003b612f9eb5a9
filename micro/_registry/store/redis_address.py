# -*- test-case-name: tests.registry.store.test_redis_address -*-
"""
The C{--store} URL: C{memory}, or where a Redis store is and which cluster
in it.

    redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?cluster=NAME]

Several clusters may share one Redis database: their keys start with
C{micro:{NAME}:} (C{NAME} defaults to C{micro}).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from attrs import frozen

from micro._kernel.errors import InvalidArgument

DEFAULT_PORT = 6379
_CLUSTER = re.compile(r"\A[A-Za-z0-9_.-]{1,64}\Z")
EXAMPLE = "redis://HOST:PORT/DB (or memory)"


@frozen
class RedisAddress:
    """
    A Redis server, a database in it, and a cluster's keys there.
    """

    host: str
    port: int = DEFAULT_PORT
    db: int = 0
    password: str | None = None
    username: str | None = None
    cluster: str = "micro"

    @property
    def prefix(self) -> str:
        # One hash tag for every key: scripts stay legal on Redis Cluster.
        return f"micro:{{{self.cluster}}}:"

    def describe(self) -> str:
        """
        Where it is, without the password.
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"redis://{host}:{self.port}/{self.db}" + ("" if self.cluster == "micro" else f"?cluster={self.cluster}")


def parse_store_url(text: str) -> RedisAddress | None:
    """
    C{None} for the memory store, else the Redis address; a bad URL raises
    L{InvalidArgument} with a one-line message.
    """
    text = text.strip()
    if text in ("", "memory", "memory:", "memory://"):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise InvalidArgument(f"store URL {text[:100]!r} is not valid ({e}); use {EXAMPLE}") from None
    if parts.scheme != "redis" or not parts.hostname:
        raise InvalidArgument(f"store URL {text[:100]!r} is not a redis:// URL with a host; use {EXAMPLE}")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise InvalidArgument(f"store URL {text[:100]!r}: the database must be a number, not {path!r}")
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"cluster"})
    if unknown or parts.fragment:
        raise InvalidArgument(f"store URL {text[:100]!r}: unknown parts {unknown or parts.fragment}; "
                              "only ?cluster=NAME may follow")
    cluster = query.get("cluster", ["micro"])[-1]
    if not _CLUSTER.match(cluster):
        raise InvalidArgument(f"store URL: cluster name {cluster[:70]!r} may hold letters, digits, '_', '.' and '-'")
    return RedisAddress(parts.hostname, port or DEFAULT_PORT, int(path or 0),
                        unquote(parts.password) if parts.password is not None else None,
                        unquote(parts.username) if parts.username else None, cluster)
