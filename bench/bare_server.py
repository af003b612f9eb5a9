"""
The floor of the stack: a bare twisted.web Resource that decodes a JSON
payload and answers it, echoed, as JSON.

    python bench/bare_server.py PORT [klein | noform | add]

With "klein", the same handler is a Klein route instead, to measure what
Klein's routing costs per request.  With "noform", the Site skips parsing
POST bodies as HTML forms, as micro's own Site does.  With "add", it
answers {"a": A, "b": B} with A + B (and skips form parsing too), the
call bench/bench_peers.py makes.
"""

import json
import sys

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site


class Echo(Resource):
    isLeaf = True

    def render_POST(self, request):
        payload = json.loads(request.content.read())
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"echo": payload}).encode()


class Add(Resource):
    isLeaf = True

    def render_POST(self, request):
        payload = json.loads(request.content.read())
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(payload["a"] + payload["b"]).encode()


class KleinEcho:
    from klein import Klein

    app = Klein()

    @app.route("/", methods=["POST"])
    def echo(self, request):
        return Echo().render_POST(request)


mode = sys.argv[2] if len(sys.argv) > 2 else ""
resource = KleinEcho().app.resource() if mode == "klein" else Add() if mode == "add" else Echo()
site = Site(resource, parsePOSTFormSubmission=False) if mode in ("noform", "add") else Site(resource)
site.log = lambda request: None
reactor.listenTCP(int(sys.argv[1]), site, interface="127.0.0.1")
reactor.run()
