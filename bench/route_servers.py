"""
The two servers of the route benchmark, each run as its own process.

    python bench/route_servers.py backend PORT
        a Klein app: GET /hello answers a small JSON document; it also
        answers /_micro/health as an instance of service "backend", so that
        a registry accepts it as one
    python bench/route_servers.py proxy PORT BACKEND_PORT
        a bare twisted.web.proxy.ReverseProxyResource in front of the backend
    python bench/route_servers.py raw PORT
        the backend's two answers from a bare Twisted protocol (no
        twisted.web): a backend several times faster than any proxy in
        front of it, so that the proxy's own speed and latency show
"""

import json
import sys

from klein import Klein
from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.web.proxy import ReverseProxyResource
from twisted.web.server import Site


class Backend:
    app = Klein()

    @app.route("/hello", methods=["GET"])
    def hello(self, request):
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"message": "Hello, World", "path": request.path.decode()}).encode()

    @app.route("/_micro/health", methods=["GET"])
    def health(self, request):
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"micro": True, "service": "backend"}).encode()


def _answer(body):
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)) + body


_HELLO = _answer(json.dumps({"message": "Hello, World", "path": "/hello"}).encode())
_HEALTH = _answer(json.dumps({"micro": True, "service": "backend"}).encode())


class RawBackend(Protocol):
    """Keep-alive GETs without bodies, answered from two pre-built replies."""

    buffer = b""

    def dataReceived(self, data):
        self.buffer += data
        replies = []
        while True:
            head, blank, rest = self.buffer.partition(b"\r\n\r\n")
            if not blank:
                break
            self.buffer = rest
            replies.append(_HEALTH if head.startswith(b"GET /_micro/health ") else _HELLO)
        if replies:
            self.transport.write(b"".join(replies))


def main():
    role, port = sys.argv[1], int(sys.argv[2])
    if role == "raw":
        reactor.listenTCP(port, Factory.forProtocol(RawBackend), interface="127.0.0.1")
        reactor.run()
        return
    if role == "backend":
        resource = Backend().app.resource()
    else:
        resource = ReverseProxyResource("127.0.0.1", int(sys.argv[3]), b"")
    site = Site(resource)
    site.log = lambda request: None
    reactor.listenTCP(port, site, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
