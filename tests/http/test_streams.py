"""
Streaming bodies through the proxy: buffering limits and backpressure,
with fake producers and consumers (no sockets).
"""

from __future__ import annotations

from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone, ResponseFailed

from micro._http.streams import HIGH_WATER, BodyPipe, ResponseRelay
from tests._helpers import failed, fired


class Producer:
    """
    A transport as a producer (the client's connection, the upstream one)
    that records what it is told.
    """

    def __init__(self) -> None:
        self.events: list[str] = []

    @property
    def paused(self) -> bool:
        return bool(self.events) and self.events[-1] == "pause"

    @property
    def pauses(self) -> int:
        return self.events.count("pause")

    def pauseProducing(self) -> None:
        self.events.append("pause")

    def resumeProducing(self) -> None:
        self.events.append("resume")

    def stopProducing(self) -> None:
        self.events.append("stop")




class Consumer:
    """
    A consumer (the upstream connection) that takes C{room} bytes and then
    pauses its producer until told to go on.
    """

    def __init__(self, producer: BodyPipe, room: int = 10**9):
        self.producer = producer
        self.room = room
        self.data: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.data.append(data)
        self.room -= len(data)
        if self.room <= 0:
            self.producer.pauseProducing()

    def drain(self, room: int) -> None:
        self.room = room
        self.producer.resumeProducing()


def test_body_arriving_before_the_upstream_is_ready_is_held_and_sent_in_order() -> None:
    """
    Chunks that come before the upstream request starts are sent, in
    order, once it starts; the body is finished when all are sent.
    """
    pipe = BodyPipe(Producer(), 6)
    pipe.body_received(b"abc")
    pipe.body_received(b"def")
    pipe.body_done()
    consumer = Consumer(pipe)
    assert fired(pipe.startProducing(consumer)) is None
    assert consumer.data == [b"abc", b"def"]
    assert pipe.started


def test_client_is_paused_past_the_high_water_mark_and_resumed_once_sent() -> None:
    """
    Held data past the high-water mark pauses the client's connection,
    which resumes once the upstream took everything.
    """
    source = Producer()
    pipe = BodyPipe(source, None)
    chunk = b"x" * 65536
    for _ in range(HIGH_WATER // len(chunk)):
        pipe.body_received(chunk)
    assert not source.paused
    pipe.body_received(chunk)
    assert source.paused
    consumer = Consumer(pipe)
    pipe.startProducing(consumer)
    assert not source.paused
    assert sum(map(len, consumer.data)) == HIGH_WATER + len(chunk)


def test_a_full_upstream_holds_data_and_pauses_the_client() -> None:
    """
    While the upstream is paused, arriving data is held (pausing the client
    past the mark) and goes out in order when the upstream drains.
    """
    source = Producer()
    pipe = BodyPipe(source, None)
    consumer = Consumer(pipe, room=10)
    finished = pipe.startProducing(consumer)
    pipe.body_received(b"0123456789")  # fills the upstream
    for n in range(5):
        pipe.body_received(bytes([65 + n]) * HIGH_WATER)
    assert consumer.data == [b"0123456789"]
    assert source.paused and source.pauses == 1
    pipe.body_done()
    assert not finished.called
    consumer.drain(10**9)
    assert b"".join(consumer.data) == b"0123456789" + b"".join(bytes([65 + n]) * HIGH_WATER for n in range(5))
    assert not source.paused
    assert fired(finished) is None


def test_client_going_away_fails_the_upstream_body() -> None:
    """
    If the client disconnects mid-body, the upstream body fails, before or after it started.
    """
    started = BodyPipe(Producer(), 100)
    finished = started.startProducing(Consumer(started))
    started.body_received(b"part")
    started.fail(Failure(ConnectionLost()))
    assert isinstance(failed(finished), ConnectionLost)

    early = BodyPipe(Producer(), 100)
    early.fail(Failure(ConnectionLost()))
    assert isinstance(failed(early.startProducing(Consumer(early))), ConnectionLost)


def test_stopped_upstream_drops_the_rest_and_never_finishes() -> None:
    """
    Once the upstream stops the body, more data is dropped, the client is
    let go on, and the body's Deferred never fires.
    """
    source = Producer()
    pipe = BodyPipe(source, None)
    consumer = Consumer(pipe, room=1)
    finished = pipe.startProducing(consumer)
    pipe.body_received(b"a")
    pipe.body_received(b"b" * (HIGH_WATER + 1))
    assert source.paused
    pipe.stopProducing()
    assert not source.paused
    pipe.body_received(b"c")
    pipe.body_done()
    pipe.fail(Failure(ConnectionLost()))
    consumer.drain(10**9)
    assert consumer.data == [b"a"]
    assert not finished.called


class FakeRequest:
    """
    The client side of a relayed response.
    """

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.events: list[str] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def finish(self) -> None:
        self.events.append("finish")

    def unregisterProducer(self) -> None:
        self.events.append("unregister")

    def loseConnection(self) -> None:
        self.events.append("lose")


def _relay() -> tuple[ResponseRelay, FakeRequest, Producer]:
    request, transport = FakeRequest(), Producer()
    relay = ResponseRelay(request, "test")  # type: ignore[arg-type]
    relay.makeConnection(transport)  # type: ignore[arg-type]
    return relay, request, transport


def test_relay_writes_the_body_and_finishes() -> None:
    """
    The upstream body is written to the client as it comes, then the request finishes.
    """
    relay, request, _ = _relay()
    relay.dataReceived(b"ab")
    relay.dataReceived(b"cd")
    relay.connectionLost(Failure(ResponseDone()))
    assert request.written == [b"ab", b"cd"]
    assert request.events == ["unregister", "finish"]


def test_relay_passes_backpressure_upstream() -> None:
    """
    The client's connection pausing and resuming pauses and resumes the upstream one.
    """
    relay, _, transport = _relay()
    relay.pauseProducing()
    relay.resumeProducing()
    assert transport.events == ["pause", "resume"]


def test_paused_before_connected_pauses_on_connect() -> None:
    """
    A pause that comes before the body starts is applied as soon as it does.
    """
    request, transport = FakeRequest(), Producer()
    relay = ResponseRelay(request, "test")  # type: ignore[arg-type]
    relay.pauseProducing()
    relay.makeConnection(transport)  # type: ignore[arg-type]
    assert transport.events == ["pause"]


def test_broken_upstream_body_closes_the_client_connection() -> None:
    """
    An upstream body that breaks off closes the client's connection instead of finishing.
    """
    relay, request, _ = _relay()
    relay.dataReceived(b"partial")
    relay.connectionLost(Failure(ResponseFailed([Failure(ConnectionLost())])))
    assert request.events == ["unregister", "lose"]


def test_client_gone_stops_the_upstream_and_writes_nothing() -> None:
    """
    When the client goes away, the upstream is stopped and nothing more is written.
    """
    relay, request, transport = _relay()
    relay.client_gone()
    relay.dataReceived(b"late")
    relay.connectionLost(Failure(ResponseDone()))
    assert transport.events == ["stop"]
    assert request.written == [] and request.events == []


def test_discarded_body_lets_the_client_finish_sending() -> None:
    """
    A body nobody will take (the request failed) is read and dropped, with the client's connection let go on.
    """
    source = Producer()
    pipe = BodyPipe(source, None)
    pipe.body_received(b"x" * (HIGH_WATER + 1))
    assert source.paused
    pipe.discard()
    assert not source.paused
    pipe.body_received(b"y" * (HIGH_WATER + 1))
    assert not source.paused
