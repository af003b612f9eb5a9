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


def test_headers_and_envelope_carry_the_same_context() -> None:
    """
    What headers() writes, from_headers() reads; the same for the envelope.
    """
    carried = Propagation("req-7")
    assert Propagation.from_headers(carried.headers().get) == carried
    assert carried.text_headers() == {"x-request-id": "req-7"}
    assert Propagation.from_text_headers(carried.text_headers()) == carried
    assert len(Propagation.from_text_headers(None).request_id) == 32
