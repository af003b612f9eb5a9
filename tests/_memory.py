"""
Helpers for tests on the in-memory network.
"""

from __future__ import annotations

from typing import Any


def drop_connections(site: Any) -> None:
    """
    Drop every connection a site accepted, as its process dying would.
    """
    for protocol in list(site._connections):
        channel = getattr(protocol, "_channel", protocol)  # Site wraps each HTTPChannel
        if channel.transport is not None:
            channel.transport.loseConnection()
