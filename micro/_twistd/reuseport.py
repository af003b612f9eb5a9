# -*- test-case-name: tests.twistd.test_workers -*-
"""
Listening on a TCP port that other processes listen on too (SO_REUSEPORT):
the kernel spreads new connections over them, so that several registry
processes serve one port.
"""

from __future__ import annotations

import re
import socket
from typing import Any

# A strports description: kind, then colon-separated fields (a colon in a
# value is escaped with a backslash).
_FIELD = re.compile(r"(?:\\.|[^:\\])+")


def parse_tcp(description: str) -> tuple[int, str, int]:
    """
    The port, interface and backlog of a C{tcp:} or C{tcp6:} description.

    @raise ValueError: Another kind, or a malformed description.
    """
    kind, _, rest = description.partition(":")
    if kind not in ("tcp", "tcp6"):
        raise ValueError(f"--reuseport needs a tcp: or tcp6: endpoint, not {description!r}")
    fields = [f.replace("\\:", ":") for f in _FIELD.findall(rest)]
    port, interface, backlog = None, "", 50
    for field in fields:
        name, equals, value = field.partition("=")
        if not equals:
            port = int(name)
        elif name == "port":
            port = int(value)
        elif name == "interface":
            interface = value
        elif name == "backlog":
            backlog = int(value)
        else:
            raise ValueError(f"--reuseport does not take {name!r} in {description!r}")
    if port is None:
        raise ValueError(f"no port in {description!r}")
    if not interface and kind == "tcp6":
        interface = "::"
    return port, interface, backlog


def listen_reusing_port(reactor: Any, description: str, factory: Any) -> Any:
    """
    Listen for C{factory} as C{description} says, with SO_REUSEPORT set.
    """
    port, interface, backlog = parse_tcp(description)
    family = socket.AF_INET6 if ":" in interface else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((interface, port))
        sock.listen(backlog)
        sock.setblocking(False)
        return reactor.adoptStreamPort(sock.fileno(), family, factory)
    finally:
        sock.close()  # the reactor holds its own copy of the socket
