# -*- test-case-name: tests.node.test_drain -*-
"""
How an instance leaves the registry: unregister, then wait until the
nodes that call it have dropped it from their tables.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger

from micro._kernel.errors import HttpError
from micro._node.registry_client import RegistryClient

_log = Logger()


async def unregister_and_settle(client: RegistryClient, service: str, location: str, settle_timeout: float) -> None:
    """
    Unregister the instance of C{service} at C{location}, and wait (at most
    C{settle_timeout} seconds) until every watching node holds a table
    without it.  A registry that cannot be reached is no reason to stay.
    """
    try:
        reply = await client.unregister(service, location)
        settled: dict[str, Any] = await client.settle(reply["version"], settle_timeout)
    except HttpError as e:
        if e.status == 503:
            _log.info("registry unreachable; {service} at {location} leaves without unregistering",
                      service=service, location=location)
        elif e.status != 404:
            _log.warn("could not unregister {service} at {location}: {error}", service=service, location=location,
                      error=e)
        return
    if not settled.get("settled"):
        _log.info("{lagging} nodes had not dropped {location} after {timeout}s",
                  lagging=settled.get("lagging"), location=location, timeout=settle_timeout)
