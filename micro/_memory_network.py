# -*- test-case-name: tests.test_memory_network -*-
"""
An in-memory network: HTTP servers and clients that talk through
C{twisted.test.iosim} on a L{MemoryReactorClock}, with no sockets.

Requests go through the real HTTP machinery of both sides (Agent, its
connection pool, Site, request parsing); only the bytes travel in memory.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from attrs import define, field
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import CannotListenError, ConnectionRefusedError
from twisted.internet.interfaces import IListeningPort, IStreamClientEndpoint
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.iweb import IAgentEndpointFactory
from twisted.web.server import Site
from zope.interface import implementer

_CLIENT_ADDRESS = IPv4Address("TCP", "10.0.0.1", 40000)


@implementer(IListeningPort)
@define(eq=False)
class MemoryPort:
    """
    A server "listening" on the memory network.
    """

    _network: MemoryNetwork
    _key: tuple[str, int]

    def startListening(self) -> None:
        pass

    def stopListening(self) -> Deferred[None]:
        self._network.unlisten(self._key)
        return succeed(None)

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", self._key[0], self._key[1])


@implementer(IAgentEndpointFactory)
@define
class _Endpoints:
    _reactor: MemoryReactorClock

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        return TCP4ClientEndpoint(self._reactor, uri.host.decode("ascii"), uri.port)


@define(eq=False)
class MemoryNetwork:
    """
    Servers by (host, port) and an HTTP client reaching them, in memory.

    Nothing moves until L{flush} (bytes) or L{settle} (bytes, and timed
    calls that are due now) is called.
    """

    reactor: MemoryReactorClock = field(factory=MemoryReactorClock)
    _servers: dict[tuple[str, int], Site] = field(factory=dict, init=False)
    _pumps: list[iosim.IOPump] = field(factory=list, init=False)
    _connected: int = field(default=0, init=False)

    def listen(self, location: str, site: Site) -> IListeningPort:
        """
        Serve C{site} at the host and port of C{location}.
        """
        parts = urlsplit(location)
        assert parts.hostname is not None and parts.port is not None
        key = (parts.hostname, parts.port)
        if key in self._servers:
            raise CannotListenError(parts.hostname, parts.port, OSError("address already in use"))
        self._servers[key] = site
        return MemoryPort(self, key)

    def unlisten(self, key: tuple[str, int]) -> None:
        self._servers.pop(key, None)

    def agent(self, *, persistent: bool = True) -> Agent:
        """
        An Agent whose connections go to the servers of this network.
        """
        pool = HTTPConnectionPool(self.reactor, persistent=persistent)
        return Agent.usingEndpointFactory(self.reactor, _Endpoints(self.reactor), pool=pool)

    def flush(self) -> bool:
        """
        Make pending connections and move bytes until nothing moves.

        @return: Whether anything happened.
        """
        moved = False
        for _ in range(10_000):
            progress = self._connect_pending()
            for pump in list(self._pumps):
                if pump.flush(advanceClock=False):
                    progress = True
                if pump.clientIO.disconnected and pump.serverIO.disconnected:
                    self._pumps.remove(pump)
            if not progress:
                return moved
            moved = True
        raise AssertionError("the memory network never went quiet")

    def settle(self) -> None:
        """
        Run timed calls that are due and move bytes until all is quiet.
        """
        for _ in range(10_000):
            self.reactor.advance(0)
            if not self.flush() and not self._due():
                return
        raise AssertionError("the memory network never settled")

    def advance(self, seconds: float) -> None:
        """
        Let C{seconds} pass, then settle.
        """
        self.reactor.advance(seconds)
        self.settle()

    def _due(self) -> bool:
        now = self.reactor.seconds()
        return any(call.getTime() <= now for call in self.reactor.getDelayedCalls())

    def _connect_pending(self) -> bool:
        clients = self.reactor.tcpClients
        if self._connected >= len(clients):
            return False
        while self._connected < len(clients):
            host, port, factory, _, _ = clients[self._connected]
            connector = self.reactor.connectors[self._connected]
            self._connected += 1
            site = self._servers.get((host, port))
            if site is None:
                factory.clientConnectionFailed(connector, Failure(ConnectionRefusedError(f"{host}:{port}")))
                continue
            server_address = IPv4Address("TCP", host, port)
            server = site.buildProtocol(_CLIENT_ADDRESS)
            server_io = iosim.FakeTransport(server, isServer=True, hostAddress=server_address,
                                            peerAddress=_CLIENT_ADDRESS)
            client = factory.buildProtocol(server_address)
            client_io = iosim.FakeTransport(client, isServer=False, hostAddress=_CLIENT_ADDRESS,
                                            peerAddress=server_address)
            self._pumps.append(iosim.connect(server, server_io, client, client_io, greet=False,
                                             clock=self.reactor))
        return True
