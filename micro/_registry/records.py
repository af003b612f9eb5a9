# -*- test-case-name: tests.registry.test_state -*-
"""
What the registry's view holds about each instance and node.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from attrs import define, field, frozen


@frozen
class InstanceRecord:
    """
    One running copy of a service, at C{location}, held by node C{node};
    C{order} places it among the instances of its service (registration order).
    """

    service: str
    location: str
    node: str
    order: int = 0


@define
class NodeRecord:
    """
    A process taking part in the cluster, as this registry sees it.

    @ivar seen_version: The table version the node said it holds, on its
        latest watch here.
    @ivar watching: Whether the node follows the table by watching here.
    @ivar last_watch: When it last watched here (this registry's clock).
    @ivar renewed: When its lease was last renewed here (this registry's clock).
    """

    id: str
    renewed: float = 0.0
    instances: dict[str, InstanceRecord] = field(factory=dict)
    seen_version: int = -1
    watching: bool = False
    last_watch: float = float("-inf")


def host_port(location: str) -> tuple[str, int]:
    """
    The host and port of a location (which always names its port).
    """
    parts = urlsplit(location)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port
