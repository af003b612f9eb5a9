"""
The registry's per-subscriber outbox: one request in flight, batches in
order, deadlines per message.
"""

from __future__ import annotations

import json
from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.web.http_headers import Headers

from micro._http.client import FullResponse
from micro._registry.pubsub.outbox import Outbox, delivery_headers

LOCATION = "http://sub.test:10001"


@define
class FakeHttp:
    """
    Records requests; the test answers them.
    """

    requests: list[tuple[bytes, bytes, Headers, float, Deferred[FullResponse]]] = field(factory=list)

    def request(self, method: bytes, url: bytes, body: bytes, headers: Headers, timeout: float,
                limit: int | None = None) -> Deferred[FullResponse]:
        d: Deferred[FullResponse] = Deferred()
        self.requests.append((url, body, headers, timeout, d))
        return d

    def answer(self, index: int, replies: list[Any], code: int = 200) -> None:
        body = json.dumps({"replies": replies} if code == 200 else {"error": "nope", "status": code}).encode()
        self.requests[index][4].callback(FullResponse(code, Headers({b"content-type": [b"application/json"]}), body))

    def messages(self, index: int) -> list[Any]:
        return [m["message"] for m in json.loads(self.requests[index][1])["messages"]]


def _body(message: Any) -> bytes:
    return json.dumps({"channel": "c", "message": message, "seq": 1, "epoch": "e"}).encode()


def _ok(n: int) -> dict[str, Any]:
    return {"results": [{"subscription": "s", "location": LOCATION, "result": n}], "errors": []}


def _outbox(token: str | None = None) -> tuple[Outbox, FakeHttp, Clock]:
    http, clock = FakeHttp(), Clock()
    return Outbox(LOCATION, http, clock, delivery_headers(token)), http, clock  # type: ignore[arg-type]


def test_messages_wait_for_the_request_in_flight_then_go_as_one_batch() -> None:
    """
    While one delivery is in flight, later messages wait, then travel
    together in publication order; each publisher gets its own outcome.
    """
    outbox, http, clock = _outbox()
    outcomes: list[Any] = []
    for n in range(4):
        outbox.post(_body(n), 5.0).addCallback(outcomes.append)
    assert len(http.requests) == 1 and http.messages(0) == [0]
    http.answer(0, [_ok(0)])
    assert len(http.requests) == 2 and http.messages(1) == [1, 2, 3]
    http.answer(1, [_ok(1), _ok(2), _ok(3)])
    assert [o["results"][0]["result"] for o in outcomes] == [0, 1, 2, 3]
    assert outbox.idle
    assert http.requests[0][0] == LOCATION.encode() + b"/_micro/deliver"


def test_waiting_message_past_its_deadline_is_dropped_with_504() -> None:
    """
    A message still waiting when its deadline passes fails with a 504 at
    once and is never sent.
    """
    outbox, http, clock = _outbox()
    first: list[Any] = []
    second: list[Any] = []
    outbox.post(_body("a"), 10.0).addCallback(first.append)
    outbox.post(_body("b"), 1.0).addCallback(second.append)
    clock.advance(1.0)
    [error] = second[0]["errors"]
    assert error["status"] == 504 and "still busy" in error["error"]
    http.answer(0, [_ok(0)])
    assert len(http.requests) == 1
    assert first[0]["results"]


def test_request_in_flight_past_the_deadline_reports_no_reply() -> None:
    """
    A message sent but unanswered by its deadline fails with a 504 naming
    the subscriber; a late reply changes nothing.
    """
    outbox, http, clock = _outbox()
    outcomes: list[Any] = []
    outbox.post(_body("a"), 2.0).addCallback(outcomes.append)
    assert http.requests[0][3] == 2.0
    clock.advance(2.0)
    assert outcomes[0]["errors"][0]["status"] == 504
    assert "no reply" in outcomes[0]["errors"][0]["error"]
    http.answer(0, [_ok(0)])
    assert len(outcomes) == 1
    assert clock.getDelayedCalls() == []


def test_unreachable_subscriber_fails_every_message_of_the_batch() -> None:
    """
    A connection refused turns into a 503 for each message sent.
    """
    outbox, http, clock = _outbox()
    outcomes: list[Any] = []
    outbox.post(_body("a"), 5.0).addCallback(outcomes.append)
    http.requests[0][4].errback(ConnectionRefusedError())
    assert outcomes[0]["errors"][0]["status"] == 503
    assert clock.getDelayedCalls() == []


def test_error_status_from_the_subscriber_is_reported() -> None:
    """
    A 403 from the subscriber (a wrong token) is the error of each message.
    """
    outbox, http, clock = _outbox()
    outcomes: list[Any] = []
    outbox.post(_body("a"), 5.0).addCallback(outcomes.append)
    http.answer(0, [], code=403)
    assert outcomes[0]["errors"] == [{"location": LOCATION, "status": 403, "error": "nope"}]


def test_malformed_reply_is_a_502() -> None:
    """
    A reply whose list does not match the batch is a 502 per message.
    """
    outbox, http, clock = _outbox()
    outcomes: list[Any] = []
    outbox.post(_body("a"), 5.0).addCallback(outcomes.append)
    http.answer(0, [_ok(0), _ok(1)])
    assert outcomes[0]["errors"][0]["status"] == 502


def test_deliveries_carry_the_registry_token() -> None:
    """
    With a token configured, every delivery shows it.
    """
    outbox, http, clock = _outbox(token="s3cret")
    outbox.post(_body("a"), 5.0)
    assert http.requests[0][2].getRawHeaders(b"micro-registry-token") == [b"s3cret"]


def test_close_answers_waiting_messages_and_cancels_timers() -> None:
    """
    Closing the outbox answers every waiting message with a 503 and leaves
    no timer behind.
    """
    outbox, http, clock = _outbox()
    outcomes: list[Any] = []
    outbox.post(_body("a"), 5.0).addCallback(outcomes.append)
    outbox.post(_body("b"), 5.0).addCallback(outcomes.append)
    outbox.close()
    assert [o["errors"][0]["status"] for o in outcomes] == [503]
    http.answer(0, [_ok(0)])
    assert len(outcomes) == 2
    assert clock.getDelayedCalls() == []
    late: list[Any] = []
    outbox.post(_body("c"), 5.0).addCallback(late.append)
    assert late[0]["errors"][0]["status"] == 503
