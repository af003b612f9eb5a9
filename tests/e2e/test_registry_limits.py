"""
A registry does not hold large bodies of commands it will refuse: several
unauthenticated 15 MiB commands (over the 1 MiB command limit, under the
16 MiB call limit) sent at once get their 413 without growing a real
twistd registry's peak memory.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests._processes import Processes, command, free_port, proc_status, reset_peak
from tests._raw_http import CommandReply, read_reply

pytestmark = pytest.mark.e2e

SIZE = 15 * 1024 * 1024
CLIENTS = 4
PIECE = 256 * 1024
ALLOWED_GROWTH = 8 * 1024 * 1024


def _send_large_lookup(port: int) -> CommandReply:
    """
    POST a 15 MiB lookup command with its length declared, sending all of
    it unless the registry hangs up, then read the reply.
    """
    filler = b"x" * PIECE
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n{\"lookup\": \"" % SIZE)
        sent = 12
        try:
            while sent < SIZE - 2:
                piece = filler[:SIZE - 2 - sent]
                s.sendall(piece)
                sent += len(piece)
            s.sendall(b'"}')
        except OSError:
            pass  # refused and cut off: the reply is already there
        return read_reply(s)


def test_large_commands_are_refused_without_being_held(processes: Processes) -> None:
    """
    Four 15 MiB commands at once each get a JSON 413 naming the command
    limit, and the registry's peak RSS grows by less than 8 MiB (reading
    them whole took several times their size).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registry = processes.registry(port)
    assert command(url, {"lookup": "all"})[0] == 200
    before = proc_status(registry.pid, "VmRSS")
    reset_peak(registry.pid)

    with ThreadPoolExecutor(CLIENTS) as pool:
        replies = list(pool.map(_send_large_lookup, [port] * CLIENTS))

    growth = proc_status(registry.pid, "VmHWM") - before
    assert [(r.status, r.json()) for r in replies] == [(413, {
        "error": f"a registry command may have at most 1048576 bytes; this one has {SIZE}", "status": 413})] * CLIENTS
    assert growth < ALLOWED_GROWTH, f"registry peak RSS grew by {growth / 2**20:.1f} MiB"
    assert command(url, {"health": True})[0] == 200
