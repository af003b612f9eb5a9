"""
Propagation: a request's context read from headers or an envelope, made
new when missing or malformed, and written back the same way.
"""

from __future__ import annotations

import pytest

from micro._kernel.propagation import Propagation, new_request_id
from micro._kernel.protocol import REQUEST_ID_HEADER


def test_a_request_id_is_taken_from_the_headers() -> None:
    """
    An incoming X-Request-Id is kept as it is, bytes or str.
    """
    assert Propagation.from_headers({REQUEST_ID_HEADER: b"abc-123"}.get).request_id == "abc-123"
    assert Propagation.from_headers({REQUEST_ID_HEADER: "abc-123"}.get).request_id == "abc-123"


@pytest.mark.parametrize("value", [None, b"", b"has space", b"x" * 129, b"caf\xe9", b"tab\there"])
def test_a_missing_or_malformed_request_id_is_made_new(value: bytes | None) -> None:
    """
    Without a usable X-Request-Id, a new one of 32 hex digits is made.
    """
    request_id = Propagation.from_headers({REQUEST_ID_HEADER: value}.get).request_id
    assert len(request_id) == 32 and int(request_id, 16) >= 0 and request_id != value


def test_new_ids_differ() -> None:
    """
    Each new request id is a new random value.
    """
    assert len({new_request_id() for _ in range(100)}) == 100


PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_headers_and_envelope_carry_the_same_context() -> None:
    """
    What headers() writes, from_headers() reads; the same for the envelope.
    """
    carried = Propagation("req-7", PARENT, "congo=t61rcWkgMzE")
    assert Propagation.from_headers(carried.headers().get) == carried
    assert carried.text_headers() == {"x-request-id": "req-7", "traceparent": PARENT, "tracestate": "congo=t61rcWkgMzE"}
    assert Propagation.from_text_headers(carried.text_headers()) == carried
    assert len(Propagation.from_text_headers(None).request_id) == 32


def test_a_new_request_starts_a_trace_whose_id_is_the_request_id() -> None:
    """
    Where micro starts a request it starts its trace too, sampled, with the
    request id as trace id and a parent that no span recorded.
    """
    started = Propagation.new()
    version, trace_id, parent_id, flags = started.traceparent.split("-")
    assert (version, trace_id, flags, started.made_here) == ("00", started.request_id, "01", True)
    assert len(parent_id) == 16 and int(parent_id, 16) > 0
    assert started.trace_id == started.request_id
    assert Propagation.new().trace_id != started.trace_id


def test_an_incoming_traceparent_passes_through_unchanged() -> None:
    """
    A valid traceparent and its tracestate are kept as they came, beside
    the client's own request id; the trace was not started here.
    """
    incoming = {b"x-request-id": b"order-1", b"traceparent": PARENT.encode(), b"tracestate": b"a=1,b=2"}
    carried = Propagation.from_headers(incoming.get)
    assert (carried.request_id, carried.traceparent, carried.tracestate, carried.made_here) == (
        "order-1", PARENT, "a=1,b=2", False)
    assert carried.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert carried.headers() == incoming


@pytest.mark.parametrize("value", [
    b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
    b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
    b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff
    b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
    b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  # version 00 with more
    b"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # short trace id
    b"garbage",
])
def test_a_malformed_traceparent_starts_a_new_trace(value: bytes) -> None:
    """
    An invalid traceparent is not passed on: a new trace starts (its
    tracestate dropped with it), the client's request id is kept.
    """
    carried = Propagation.from_headers({b"x-request-id": b"r-1", b"traceparent": value, b"tracestate": b"a=1"}.get)
    assert carried.request_id == "r-1" and carried.made_here and carried.tracestate is None
    assert carried.traceparent is not None and carried.traceparent.encode() != value
    assert carried.trace_id != "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_later_version_is_passed_on_as_version_00() -> None:
    """
    A traceparent of a later version keeps its ids and flags; what it adds is dropped.
    """
    later = b"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
    assert Propagation.from_headers({b"traceparent": later}.get).traceparent == PARENT


def test_an_unprintable_tracestate_is_dropped() -> None:
    """
    tracestate is passed on only as printable ASCII of a sane length.
    """
    for bad in (b"a=\x01", b"x" * 513, "caf\u00e9=1"):
        headers = {b"traceparent": PARENT.encode(), b"tracestate": bad}
        carried = Propagation.from_headers(headers.get)
        assert carried.traceparent == PARENT and carried.tracestate is None


def test_a_span_recorded_here_becomes_the_parent() -> None:
    """
    with_span() keeps the request id and tracestate, replaces the parent,
    and holds the span without sending or comparing it.
    """
    carried = Propagation("r-2", PARENT, "a=1", True)
    child = carried.with_span("00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01", object())
    assert (child.request_id, child.tracestate, child.made_here) == ("r-2", "a=1", False)
    assert child.headers()[b"traceparent"].endswith(b"1111111111111111-01")
    assert child == Propagation("r-2", child.traceparent, "a=1")
    assert Propagation("r-3").trace_id == "-" and Propagation("r-3").headers() == {b"x-request-id": b"r-3"}
