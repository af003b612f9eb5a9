"""
EarlyRequest: a resource that asks for it gets request bodies as they
arrive, before rendering; any other resource gets them buffered as usual.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import succeed
from twisted.web.client import UNKNOWN_LENGTH
from twisted.web.resource import Resource
from zope.interface import implementer

from micro._http.client import HttpClient, FullResponse, collect
from micro._http.early_request import IBodyReceiver, IStreamingResource
from micro._http.site import make_site
from micro._kernel.codec import dumps, loads
from micro._testing.memory_network import MemoryNetwork
from tests._helpers import fired

URL = b"http://server.test:80/upload?x=1"


@implementer(IBodyReceiver)
class Receiver:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.done = False

    def body_received(self, data: bytes) -> None:
        self.chunks.append(data)

    def body_done(self) -> None:
        self.done = True


@implementer(IStreamingResource)
class Recording(Resource):
    """
    Takes bodies (or not) and renders what it saw.
    """

    isLeaf = True

    def __init__(self, take: bool):
        super().__init__()
        self.take = take
        self.offers: list[tuple[bytes, bytes, Any]] = []

    def receive_body(self, request: Any, method: bytes, uri: bytes, length: int | None) -> Receiver | None:
        self.offers.append((method, uri, length))
        return Receiver() if self.take else None

    def render(self, request: Any) -> bytes:
        receiver = request.body_receiver
        return dumps({
            "streamed": None if receiver is None else b"".join(receiver.chunks).decode(),
            "done_before_render": None if receiver is None else receiver.done,
            "buffered": request.content.read().decode(),
        })


class ChunkedBody:
    """
    A request body of unknown length, so that it is sent chunked.
    """

    length = UNKNOWN_LENGTH

    def __init__(self, *parts: bytes):
        self.parts = parts

    def startProducing(self, consumer: Any) -> Any:
        for part in self.parts:
            consumer.write(part)
        return succeed(None)

    def pauseProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


def _post(resource: Resource, body: Any) -> Any:
    network = MemoryNetwork()
    network.listen("http://server.test:80", make_site(resource, network.reactor))
    http = HttpClient(network.reactor, network.agent())
    if isinstance(body, bytes):
        d = http.request(b"POST", URL, body)
    else:
        d = http.response(b"POST", URL, None, body).addCallback(collect)
    network.settle()
    reply: FullResponse = fired(d)
    assert reply.code == 200
    return loads(reply.body)


def test_a_streaming_resource_takes_the_body_before_rendering() -> None:
    """
    The resource is offered the body with the request line and length, gets
    every byte, and hears the end before it renders; nothing is buffered.
    """
    resource = Recording(take=True)
    assert _post(resource, b"hello body") == {"streamed": "hello body", "done_before_render": True, "buffered": ""}
    assert resource.offers == [(b"POST", b"/upload?x=1", 10)]


def test_chunked_bodies_are_offered_without_a_length() -> None:
    """
    A chunked body is offered with length None and arrives decoded.
    """
    resource = Recording(take=True)
    assert _post(resource, ChunkedBody(b"ab", b"cd"))["streamed"] == "abcd"
    assert resource.offers == [(b"POST", b"/upload?x=1", None)]


def test_declining_leaves_the_body_to_the_site() -> None:
    """
    A resource that declines gets the body buffered, as a plain Site would.
    """
    resource = Recording(take=False)
    assert _post(resource, b"hello body") == {"streamed": None, "done_before_render": None, "buffered": "hello body"}
