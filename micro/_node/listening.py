# -*- test-case-name: tests.node.test_node -*-
"""
Where a node's instances listen, and what a node is called.
"""

from __future__ import annotations

import os
import secrets
import socket
from typing import Any, Callable
from urllib.parse import urlsplit

from twisted.internet.interfaces import IListeningPort
from twisted.python.log import callWithContext

from micro._http.site import MicroSite
from micro._kernel.config import listen_interface

# Serve a site at the port of a location; tests listen in memory instead.
Listen = Callable[[str, MicroSite], IListeningPort]


def new_node_id() -> str:
    """
    A name for a new node, unique across hosts and processes.
    """
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(6)}"


def tcp_listener(reactor: Any) -> Listen:
    """
    Listen on the port of a location; loopback hosts bind loopback only.
    """
    def listen(location: str, site: MicroSite) -> IListeningPort:
        parts = urlsplit(location)
        assert parts.hostname is not None and parts.port is not None
        # Twisted logs "MicroSite starting on <port>" in the log context of
        # whatever is running: here, the reply of the registry's setup
        # command ("[HTTP11ClientProtocol,client]").  Say it is micro's.
        return callWithContext({"system": "micro"}, reactor.listenTCP, parts.port, site,  # type: ignore[no-any-return]
                               interface=listen_interface(parts.hostname))
    return listen
