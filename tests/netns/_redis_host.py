"""
A real C{redis-server} on a host of a L{Network}: the shared store of the
multi-host tests with several registries.

It listens on its host's address only, inside that host's namespace, so
it can never be, nor disturb, the machine's own Redis; like every process
of the harness it is written in the ledger before it starts and stopped
by its PID when the test ends (or the run is interrupted).
"""

from __future__ import annotations

import shutil
import socket

from tests._processes import Process, wait_until
from tests.netns._hosts import Host

# Not 6379, so that nothing here is ever taken for the machine's Redis
# (which lives in the machine's own namespace, out of reach anyway).
REDIS_PORT = 7379
REDIS_SERVER = shutil.which("redis-server")


def store_url(host: Host) -> str:
    """
    The C{--store} URL of the Redis on C{host}.
    """
    return f"redis://{host.address}:{REDIS_PORT}/0"


def start_redis(host: Host) -> Process:
    """
    C{redis-server} on C{host}'s address, without persistence; returns once
    it answers PING from its own host.
    """
    assert REDIS_SERVER is not None, "redis-server is not installed (apt-get install redis-server)"
    process = host.start("redis", [REDIS_SERVER, "--port", str(REDIS_PORT), "--bind", host.address,
                                   "--save", "", "--appendonly", "no", "--dir", str(host.network.workdir),
                                   "--protected-mode", "no"])
    wait_until(lambda: process.running() and host.inside.run(ping, host.address), timeout=15,
               what=f"redis-server on {host.address}\n{process.log()}")
    return process


def ping(address: str, port: int = REDIS_PORT) -> bool:
    """
    Whether the Redis at C{address} answers PING (from the calling thread's namespace).
    """
    with socket.create_connection((address, port), timeout=2) as s:
        s.sendall(b"PING\r\n")
        return s.recv(64).startswith(b"+PONG")
