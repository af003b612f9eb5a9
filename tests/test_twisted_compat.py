"""
The private parts of Twisted that micro relies on, each still where micro
expects it.  All of them are used inside micro/_http/ only; when a Twisted
upgrade moves one, this test names it, instead of a failure far from the
cause.
"""

from __future__ import annotations

from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.web import client, http
from twisted.web.server import Site

from micro._http.channel import MicroChannel, micro_channel_protocol
from micro._http.client import HttpClient
from micro._http.pool import CheckedPool
from micro._http.site import make_site


def test_the_client_half() -> None:
    """
    The pool's factory hook, its connection and timeout tables, the HTTP/1.1 client
    factory, and the exceptions of the new client are where micro/_http uses them.
    """
    pool = HttpClient.create(MemoryReactorClock())._pool
    assert isinstance(pool, CheckedPool)
    assert pool._factory.__mro__[1] is client._HTTP11ClientFactory  # type: ignore[attr-defined]
    assert isinstance(pool._connections, dict) and isinstance(pool._timeouts, dict)  # type: ignore[attr-defined]
    from twisted.web._newclient import RequestNotSent, RequestTransmissionFailed, ResponseNeverReceived

    assert all(issubclass(e, Exception) for e in (RequestNotSent, RequestTransmissionFailed, ResponseNeverReceived))
    assert ResponseNeverReceived([]).reasons == []


def test_a_connections_write_buffers() -> None:
    """
    A TCP connection's write buffers, its TLS flag and its socket, which
    L{micro._http.sending.send_now} looks at before writing to the socket.
    """
    import socket

    from twisted.internet import tcp
    from twisted.web._newclient import ResponseFailed

    class _Reactor(MemoryReactorClock):
        def addWriter(self, writer: object) -> None:
            pass

    sock = socket.socket()
    try:
        connection = tcp.Connection(sock, None, _Reactor())
        assert connection.dataBuffer == b"" and connection._tempDataBuffer == []
        assert connection.TLS is False and connection.socket is sock
        connection.connected = 1
        connection.write(b"x")
        assert connection._tempDataBuffer == [b"x"]
    finally:
        sock.close()
    assert ResponseFailed([]).reasons == []


def test_the_server_half() -> None:
    """
    The channel wrapper a Site builds, the header byte and field counts, the line
    buffer, and the request line the channel holds before the request sees it.
    """
    site = make_site(None, MemoryReactorClock())
    protocol = site.buildProtocol(None)
    assert isinstance(protocol, http._GenericHTTPChannelProtocol)  # type: ignore[attr-defined]
    assert isinstance(protocol._channel, MicroChannel)
    assert isinstance(micro_channel_protocol(site), http._GenericHTTPChannelProtocol)  # type: ignore[attr-defined]
    channel = MicroChannel()
    channel.makeConnection(StringTransport())
    channel.dataReceived(b"GET /path HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n")
    assert channel._receivedHeaderSize > 0 and channel._receivedHeaderCount == 1
    assert isinstance(channel._buffer, bytes) and channel.maxHeaders > 0
    assert (channel._command, channel._path) == (b"GET", b"/path")
    assert issubclass(type(site), Site)
