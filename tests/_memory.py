"""
Helpers for tests on the in-memory network.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.web.http_headers import Headers

from micro._http.client import FullResponse
from micro._registry.stack import RegistryStack
from micro.testing import REGISTRY_URL, MemoryCluster


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


def fetch(cluster: MemoryCluster, method: bytes, path: str, body: bytes | None = None,
          headers: dict[bytes, bytes] | None = None) -> FullResponse:
    """
    Send one request to the registry of C{cluster} and read the whole reply.
    """
    raw = Headers({name: [value] for name, value in (headers or {}).items()})
    return cluster.result(cluster._http().request(method, (REGISTRY_URL + path).encode(), body, raw))


def routes_of(stack: RegistryStack) -> dict[str, str]:
    """
    The registry's routes: path to service.
    """
    assert stack.routes is not None
    return {entry.path: entry.service for entry in stack.routes.table.entries()}
