# -*- test-case-name: tests.integration.test_redis_store -*-
"""
Checking a Redis store before a registry starts on it: reachable, the
password right, the database there.  Blocking, with a short timeout: it
runs once, before the reactor, so that a wrong C{--store} is one line and
an exit status instead of a registry that retries forever.
"""

from __future__ import annotations

import socket

from micro._registry.store.redis_address import RedisAddress

PREFLIGHT_TIMEOUT = 3.0


class StoreUnusable(Exception):
    """
    The store cannot be used; the message says why in one line.
    """


def _encode(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode("utf-8")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _reply(stream: socket.socket, buffer: bytearray) -> str:
    while b"\r\n" not in buffer:
        chunk = stream.recv(4096)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\r\n")
    buffer[:] = rest
    return line.decode("utf-8", "replace")


def check_redis(address: RedisAddress, timeout: float = PREFLIGHT_TIMEOUT) -> None:
    """
    Talk to the Redis at C{address} as the store will: raise
    L{StoreUnusable} if it cannot be reached or refuses us.
    """
    where = address.describe()
    try:
        stream = socket.create_connection((address.host, address.port), timeout=timeout)
    except OSError as e:
        raise StoreUnusable(f"cannot reach Redis at {where}: {e.strerror or e}") from None
    buffer = bytearray()
    try:
        with stream:
            if address.password is not None:
                words = ["AUTH", address.password] if address.username is None else \
                    ["AUTH", address.username, address.password]
                stream.sendall(_encode(*words))
                reply = _reply(stream, buffer)
                if reply.startswith("-"):
                    raise StoreUnusable(f"Redis at {where} refused the password: {reply[1:]}")
            stream.sendall(_encode("SELECT", str(address.db)))
            reply = _reply(stream, buffer)
            if reply.startswith("-NOAUTH"):
                raise StoreUnusable(f"Redis at {where} needs a password: give it in the URL, "
                                    "redis://:PASSWORD@host:port/db")
            if reply.startswith("-"):
                raise StoreUnusable(f"Redis at {where} has no database {address.db}: {reply[1:]}")
            stream.sendall(_encode("PING"))
            reply = _reply(stream, buffer)
            if not reply.startswith("+PONG"):
                raise StoreUnusable(f"Redis at {where} did not answer PING: {reply}")
    except OSError as e:
        raise StoreUnusable(f"cannot talk to Redis at {where}: {e.strerror or e}") from None


def check_client() -> None:
    """
    The Redis store needs txredisapi (the extra C{redis}).
    """
    try:
        import txredisapi  # noqa: F401
    except ImportError:
        raise StoreUnusable("the Redis store needs txredisapi: pip install 'micro[redis]'") from None
