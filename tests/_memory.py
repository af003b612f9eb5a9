"""
Helpers for tests on the in-memory network.
"""

from __future__ import annotations

from typing import Any, Callable


def drop_connections(site: Any) -> None:
    """
    Drop every connection a site accepted, as its process dying would.
    """
    for protocol in list(site._connections):
        channel = getattr(protocol, "_channel", protocol)  # Site wraps each HTTPChannel
        if channel.transport is not None:
            channel.transport.loseConnection()


def recorder(log: list[Any], answer: Any, tag: Any = None) -> Callable[[Any], Any]:
    """
    A handler that appends what it receives (with C{tag}, if given) to
    C{log} and returns C{answer}.
    """
    def handler(message: Any) -> Any:
        log.append(message if tag is None else (tag, message))
        return answer
    return handler


def endpoint_of(node: Any) -> Any:
    """
    The instance that takes a node's pub/sub deliveries.
    """
    endpoint = node.pubsub.endpoint
    assert endpoint is not None
    return endpoint
