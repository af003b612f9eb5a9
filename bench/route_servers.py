"""
The two servers of the route benchmark, each run as its own process.

    python bench/route_servers.py backend PORT
        a Klein app: GET /hello answers a small JSON document; it also
        answers /_micro/health as an instance of service "backend", so that
        a registry accepts it as one
    python bench/route_servers.py proxy PORT BACKEND_PORT
        a bare twisted.web.proxy.ReverseProxyResource in front of the backend
"""

import json
import sys

from klein import Klein
from twisted.internet import reactor
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


def main():
    role, port = sys.argv[1], int(sys.argv[2])
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
