# -*- test-case-name: tests.node.test_node -*-
"""
The C{ctx} a service function may take as its second argument.
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.web.iweb import IRequest

from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._node.request_info import RequestInfo


class Member(Protocol):
    """
    What a handler reaches through its node: other services and pub/sub.
    """

    def call(self, service: str, payload: Any = None, *, timeout: float = DEFAULT_TIMEOUT,
             retries: int = 0) -> Deferred[Any]: ...

    def publish(self, channel: str, message: Any, *, timeout: float | None = None) -> Deferred[dict[str, Any]]: ...


class Context:
    """
    What a running call can reach: other services, pub/sub, and its own request.

    @ivar service: The name of the service being called.
    """

    __slots__ = ("_node", "service", "_source", "_info")

    def __init__(self, node: Member, service: str, source: IRequest | RequestInfo):
        self._node = node
        self.service = service
        self._source = source
        self._info: RequestInfo | None = source if isinstance(source, RequestInfo) else None

    @property
    def request(self) -> RequestInfo:
        """
        The request that invoked this call: method, path, url, query, headers.
        """
        if self._info is None:
            self._info = RequestInfo.from_request(self._source)  # type: ignore[arg-type]
        return self._info

    def call(self, service: str, payload: Any = None, *, timeout: float = DEFAULT_TIMEOUT,
             retries: int = 0) -> Deferred[Any]:
        """
        Call another service, exactly as L{micro.call_service} does.
        """
        return self._node.call(service, payload, timeout=timeout, retries=retries)

    def publish(self, channel: str, message: Any, *, timeout: float | None = None) -> Deferred[dict[str, Any]]:
        """
        Publish to a pub/sub channel, exactly as L{micro.PubSubService.publish} does.
        """
        return self._node.publish(channel, message, timeout=timeout)
