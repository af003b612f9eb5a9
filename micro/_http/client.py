# -*- test-case-name: tests.calls.test_timeouts -*-
"""
The lean HTTP client every outbound micro request goes through.

It is a C{twisted.web.client.Agent} on a persistent connection pool with
nothing in between: calls between services are the hot path, and treq's
conveniences cost a measurable share of a loopback round trip (the
"treq as the client" row of bench/bench_calls.py).  treq serves the
module-level C{http_request}, which is not a hot path.
"""

from __future__ import annotations

from typing import Any

from attrs import define
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.endpoints import HostnameEndpoint, TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IConsumer, IStreamClientEndpoint
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool, ResponseDone, _HTTP11ClientFactory
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IAgentEndpointFactory, IBodyProducer, IResponse
from zope.interface import implementer

from micro._http.failures import RequestTimedOut
from micro._http.pool import CheckedPool
from micro._http.response import FullResponse, RawHeaders
from micro._http.wire_client import WirePool
from micro._http.wire_requests import WireClient
from micro._kernel.deferreds import with_deadline
from micro._kernel.errors import HttpError
from micro._kernel.protocol import IDLE_TIMEOUT

CONNECT_TIMEOUT = 5.0


@implementer(IBodyProducer)
class BytesProducer:
    """
    A request body that is already in memory, written in one go.

    C{FileBodyProducer} would schedule its writes through a cooperator,
    which costs a reactor turn per request.
    """

    def __init__(self, body: bytes):
        self._body = body
        self.length = len(body)

    def startProducing(self, consumer: IConsumer) -> Deferred[None]:
        consumer.write(self._body)
        return succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class _BodyCollector(Protocol):
    """
    Gather a response body, refusing more than C{limit} bytes.
    """

    def __init__(self, response: IResponse, finished: Deferred[FullResponse], limit: int | None):
        self._response = response
        self._finished = finished
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0

    def dataReceived(self, data: bytes) -> None:
        self._size += len(data)
        if self._limit is not None and self._size > self._limit:
            self._parts = []
            self.transport.stopProducing()  # type: ignore[union-attr]
            if not self._finished.called:
                self._finished.errback(HttpError(502, f"reply larger than {self._limit} bytes"))
            return
        self._parts.append(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self._finished.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            body = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
            self._finished.callback(FullResponse(self._response.code, self._response.headers, body))
        else:
            self._finished.errback(reason)

    def abort(self) -> None:
        transport = self.transport
        if transport is not None:
            abort = getattr(transport, "abortConnection", None) or getattr(transport, "stopProducing")
            abort()


def collect(response: IResponse, limit: int | None = None) -> Deferred[FullResponse]:
    """
    Read the whole body of C{response}; cancelling drops the connection.
    """
    protocol: _BodyCollector

    def cancel(d: Deferred[FullResponse]) -> None:
        protocol.abort()

    finished: Deferred[FullResponse] = Deferred(cancel)
    protocol = _BodyCollector(response, finished, limit)
    response.deliverBody(protocol)
    return finished


@implementer(IAgentEndpointFactory)
@define
class _Endpoints:
    """
    Connect to IP literals and to C{localhost} without a name lookup.

    A lookup goes through the reactor's thread pool, and C{localhost} may
    resolve to C{::1} first, where nothing listens, which costs the
    happy-eyeballs delay (0.3 s) on every new connection.
    """

    _reactor: Any
    _tls: BrowserLikePolicyForHTTPS

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        host = uri.host.decode("ascii")
        if host == "localhost":
            host = "127.0.0.1"
        endpoint: IStreamClientEndpoint
        if isIPAddress(host):
            endpoint = TCP4ClientEndpoint(self._reactor, host, uri.port, timeout=CONNECT_TIMEOUT)
        elif isIPv6Address(host):
            endpoint = TCP6ClientEndpoint(self._reactor, host, uri.port, timeout=CONNECT_TIMEOUT)
        else:
            endpoint = HostnameEndpoint(self._reactor, uri.host, uri.port, timeout=CONNECT_TIMEOUT)
        if uri.scheme == b"https":
            endpoint = wrapClientTLS(self._tls.creatorForNetloc(uri.host, uri.port), endpoint)
        return endpoint


class _QuietClientFactory(_HTTP11ClientFactory):
    """
    The pool's connection factory, without a log line per connection.
    """

    noisy = False


@define
class HttpClient:
    """
    Send requests over a persistent pool and read whole replies.

    @ivar _reactor: Supplies time (timeouts) and connections.
    @ivar _agent: Any C{IAgent}; tests pass an in-memory one.
    """

    _reactor: Any
    _agent: IAgent
    _pool: HTTPConnectionPool | None = None
    _wire: WireClient | None = None

    @classmethod
    def create(cls, reactor: Any, *, max_per_host: int = 64) -> HttpClient:
        """
        A client with its own pool that keeps up to C{max_per_host} idle
        connections to each peer, so concurrent callers reuse connections.
        """
        pool = CheckedPool(reactor, persistent=True)
        pool.maxPersistentPerHost = max_per_host
        # Servers drop idle connections after IDLE_TIMEOUT; reusing one just
        # as the server closes it would lose a POST that cannot be resent.
        pool.cachedConnectionTimeout = int(IDLE_TIMEOUT / 2)
        pool._factory = _QuietClientFactory
        agent = Agent.usingEndpointFactory(reactor, _Endpoints(reactor, BrowserLikePolicyForHTTPS()), pool=pool)
        wire = WireClient(WirePool(reactor, max_per_host, pool.cachedConnectionTimeout, CONNECT_TIMEOUT))
        return cls(reactor, agent, pool, wire)

    @property
    def wire(self) -> WireClient | None:
        """
        The lean client, where this client has one (a proxy streams through it).
        """
        return self._wire

    @property
    def reactor(self) -> Any:
        return self._reactor

    @property
    def agent(self) -> IAgent:
        """
        The agent under this client, on its connection pool (for treq).
        """
        return self._agent

    def request(
        self,
        method: bytes,
        url: bytes,
        body: bytes | None = None,
        headers: Headers | RawHeaders | None = None,
        timeout: float | None = None,
        limit: int | None = None,
    ) -> Deferred[FullResponse]:
        """
        Send one request and collect the reply.

        Plain C{http} to an IP address or C{localhost} goes through the lean
        client (L{micro._http.wire_requests}), the rest through the Agent.
        C{headers} are a C{Headers} or C{(name, value)} pairs.

        On timeout the request is cancelled (its connection dropped) and the
        Deferred fails with L{RequestTimedOut}, whether it was still
        connecting, sending, or waiting for the reply.
        """
        d: Deferred[Any] | None = None
        if self._wire is not None:
            d = self._wire.request(method, url, body, headers, limit)
        if d is None:
            if headers is not None and not isinstance(headers, Headers):
                headers = _headers(headers)
            producer = None if body is None else BytesProducer(body)
            d = self._agent.request(method, url, headers, producer).addCallback(collect, limit)
        return d if timeout is None else self.with_deadline(d, timeout)

    def with_deadline(self, d: Deferred[Any], timeout: float) -> Deferred[Any]:
        """
        Cancel C{d} after C{timeout} seconds, and then fail it with
        L{RequestTimedOut}, whether it was still connecting, sending, or
        waiting for the reply.
        """
        # Cancelling surfaces as CancelledError, or wrapped in
        # ResponseNeverReceived mid-request; either way it was the deadline.
        return with_deadline(self._reactor, d, timeout, lambda: RequestTimedOut(f"no reply within {timeout:g}s"))

    def response(self, method: bytes, url: bytes, headers: Headers | None = None,
                 body: IBodyProducer | None = None) -> Deferred[IResponse]:
        """
        Send one request and return the response with its body unread, for
        callers that stream it.
        """
        return self._agent.request(method, url, headers, body)

    def close(self) -> Deferred[None]:
        """
        Close the idle connections of the pools.
        """
        closing = [] if self._pool is None else [self._pool.closeCachedConnections()]
        if self._wire is not None:
            closing.append(self._wire.close())
        return DeferredList(closing).addCallback(lambda _: None)


def _headers(pairs: RawHeaders) -> Headers:
    headers = Headers()
    for name, value in pairs:
        headers.addRawHeader(name, value)
    return headers

