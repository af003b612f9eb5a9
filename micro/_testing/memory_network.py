# -*- test-case-name: tests.http.test_early_request -*-
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
from twisted.internet.error import CannotListenError, ConnectionDone, ConnectionLost, ConnectionRefusedError
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
    """
    Connect to servers of the network, from the host C{origin} (carried as
    the bind address, so the network knows whose connection it is).
    """

    _reactor: MemoryReactorClock
    _origin: str

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        return TCP4ClientEndpoint(self._reactor, uri.host.decode("ascii"), uri.port,
                                  bindAddress=(self._origin, 0))


@define(eq=False)
class _Link:
    """
    One connection: its pump, the server it reaches and the client's host.
    """

    pump: iosim.IOPump
    server: tuple[str, int]
    origin: str


@define(eq=False)
class MemoryNetwork:
    """
    Servers by (host, port) and an HTTP client reaching them, in memory.

    Nothing moves until L{flush} (bytes) or L{settle} (bytes, and timed
    calls that are due now) is called.
    """

    reactor: MemoryReactorClock = field(factory=MemoryReactorClock)
    _servers: dict[tuple[str, int], Site] = field(factory=dict, init=False)
    _links: list[_Link] = field(factory=list, init=False)
    _connected: int = field(default=0, init=False)
    _origins: list[str] = field(factory=list, init=False)
    _dead: set[str] = field(factory=set, init=False)
    _frozen: set[str] = field(factory=set, init=False)

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

    def server_at(self, host: str, port: int) -> Site | None:
        """
        The site listening at C{host}:C{port}, if any.
        """
        return self._servers.get((host, port))

    def connections(self, client_host: str, server_host: str) -> list[iosim.FakeTransport]:
        """
        The server ends of the open connections from processes on
        C{client_host} to servers on C{server_host}.
        """
        return [link.pump.serverIO for link in self._links
                if _host(link.origin) == client_host and link.server[0] == server_host]

    def agent(self, *, persistent: bool = True, origin: str = "client.test") -> Agent:
        """
        An Agent whose connections go to the servers of this network, from
        a process on the host C{origin}.
        """
        pool = HTTPConnectionPool(self.reactor, persistent=persistent)
        process = f"{origin}#{len(self._origins)}"
        self._origins.append(process)
        agent: Agent = Agent.usingEndpointFactory(self.reactor, _Endpoints(self.reactor, process), pool=pool)
        return agent

    def kill(self, host: str) -> None:
        """
        The processes on C{host} die: their ports close, and the peers of
        their connections see them drop.  They are told nothing more
        themselves, and their later attempts to connect go nowhere; agents
        made afterwards stand for new processes and work.
        """
        self._dead.update(origin for origin in self._origins if _host(origin) == host)
        for key in [key for key in self._servers if key[0] == host]:
            del self._servers[key]
        for link in list(self._links):
            if link.server[0] == host:
                self._drop(link, link.pump.clientIO)
            elif _host(link.origin) == host:
                self._drop(link, link.pump.serverIO)

    def freeze(self, host: str) -> None:
        """
        The processes on C{host} hang: their connections stay open and new
        ones are still accepted, as the kernel would, but no bytes move to
        or from them until L{thaw}.
        """
        self._frozen.add(host)

    def thaw(self, host: str) -> None:
        self._frozen.discard(host)

    def _drop(self, link: _Link, survivor: iosim.FakeTransport) -> None:
        """
        Tell C{survivor} its peer died: as TCP does, a reset if the peer
        left bytes from it unread, else a clean close.
        """
        self._links.remove(link)
        unread = bool(survivor.stream)
        survivor.disconnecting = survivor.disconnected = True
        reason = ConnectionLost("connection reset by peer") if unread else ConnectionDone("peer closed")
        survivor.protocol.connectionLost(Failure(reason))

    def flush(self) -> bool:
        """
        Make pending connections and move bytes until nothing moves.

        @return: Whether anything happened.
        """
        moved = False
        for _ in range(10_000):
            progress = self._connect_pending()
            for link in list(self._links):
                if self._frozen and (_host(link.origin) in self._frozen or link.server[0] in self._frozen):
                    continue
                pump = link.pump
                if pump.flush(advanceClock=False):
                    progress = True
                if pump.clientIO.disconnected and pump.serverIO.disconnected:
                    self._links.remove(link)
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
        Let C{seconds} pass, stopping at every timed call on the way and
        settling there, as time passes for real: a retry scheduled by a
        timer that fired on the way runs on the way too.
        """
        end = self.reactor.seconds() + seconds
        for _ in range(100_000):
            self.settle()
            due = [call.getTime() for call in self.reactor.getDelayedCalls()]
            step = min(due, default=end)
            if step >= end:
                break
            self.reactor.advance(max(step - self.reactor.seconds(), 0.0))
        else:
            raise AssertionError("timers kept firing without end")
        self.reactor.advance(max(end - self.reactor.seconds(), 0.0))
        self.settle()

    def _due(self) -> bool:
        now = self.reactor.seconds()
        return any(call.getTime() <= now for call in self.reactor.getDelayedCalls())

    def _connect_pending(self) -> bool:
        clients = self.reactor.tcpClients
        if self._connected >= len(clients):
            return False
        while self._connected < len(clients):
            host, port, factory, _, bind = clients[self._connected]
            connector = self.reactor.connectors[self._connected]
            self._connected += 1
            origin = bind[0] if bind else "client.test#"
            if origin in self._dead:
                continue  # a dead process connects nowhere, and hears nothing back
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
            pump = iosim.connect(server, server_io, client, client_io, greet=False, clock=self.reactor)
            self._links.append(_Link(pump, (host, port), origin))
        return True


def _host(origin: str) -> str:
    return origin.partition("#")[0]
