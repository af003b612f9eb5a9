# -*- test-case-name: tests.node.test_node -*-
"""
The C{ctx} a service function may take as its second argument.
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.web.iweb import IRequest

from micro._kernel.propagation import Propagation
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._node.request_info import RequestInfo


class Member(Protocol):
    """
    What a handler reaches through its node: other services, pub/sub, and
    the node's clock.
    """

    reactor: Any

    def call(self, service: str, payload: Any = None, *, timeout: float = DEFAULT_TIMEOUT,
             retries: int = 0, propagation: Propagation | None = None) -> Deferred[Any]: ...

    def publish(self, channel: str, message: Any, *, timeout: float | None = None,
                propagation: Propagation | None = None) -> Deferred[dict[str, Any]]: ...


def propagation_of(source: IRequest | RequestInfo) -> Propagation:
    """
    The context an incoming request carries (made new if it carries none).
    """
    if isinstance(source, RequestInfo):
        return Propagation.from_text_headers(source.headers)
    return Propagation.from_headers(source.getHeader)


class Context:
    """
    What a running call can reach: other services, pub/sub, its own
    request, and the context that request carries (its request id),
    which C{call} and C{publish} hand on.

    @ivar service: The name of the service being called.
    """

    __slots__ = ("_node", "service", "_source", "_info", "_propagation")

    def __init__(self, node: Member, service: str, source: IRequest | RequestInfo,
                 propagation: Propagation | None = None):
        self._node = node
        self.service = service
        self._source = source
        self._info: RequestInfo | None = source if isinstance(source, RequestInfo) else None
        self._propagation = propagation

    def __repr__(self) -> str:
        return f"<Context of {self.service!r}, request {self.request_id}>"

    @property
    def propagation(self) -> Propagation:
        """
        The context of the request behind this call, handed on by L{call}
        and L{publish}.
        """
        if self._propagation is None:
            self._propagation = propagation_of(self._source)
        return self._propagation

    @property
    def clock(self) -> IReactorTime:
        """
        The node's clock (its reactor): wait on it (C{deferLater(ctx.clock,
        1, ...)}) rather than on the global reactor, and tests on a fake
        clock (L{micro.testing.MemoryCluster.advance}) drive the wait.
        """
        return self._node.reactor  # type: ignore[no-any-return]

    @property
    def request_id(self) -> str:
        """
        The request id (C{X-Request-Id}) of the request this call is part
        of: the client's, or one made where the request entered the cluster.
        """
        return self.propagation.request_id

    @property
    def trace_id(self) -> str:
        """
        The W3C trace id (32 hex digits) of the request this call is part
        of: its client's C{traceparent}'s, or one started where the request
        entered the cluster.
        """
        return self.propagation.trace_id

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
        Call another service, as L{micro.call_service} does, as part of
        this request (the call carries its request id).
        """
        return self._node.call(service, payload, timeout=timeout, retries=retries, propagation=self.propagation)

    def publish(self, channel: str, message: Any, *, timeout: float | None = None) -> Deferred[dict[str, Any]]:
        """
        Publish to a pub/sub channel, as L{micro.PubSubService.publish}
        does, as part of this request (its messages carry its request id).
        """
        return self._node.publish(channel, message, timeout=timeout, propagation=self.propagation)
