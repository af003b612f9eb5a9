"""
Encoding of payloads, results and errors.
"""

from __future__ import annotations

import pytest

from micro import HttpError
from micro._kernel.codec import (BYTES_TYPE, JSON_TYPE, MalformedBody, across, decode_payload, decode_result,
                                 encode_value, error_body, error_from_reply, loads)

VALUES = [None, 0, False, True, "", "42", 42, 4.5, [], {}, [1, "two", None], {"a": {"b": [{"c": "ü€𝄞"}]}}]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_json_values_survive_with_their_types(value: object) -> None:
    """
    Every JSON value comes back equal and of the same type.
    """
    body, content_type = encode_value(value)
    assert content_type == JSON_TYPE
    back = decode_result(body, content_type)
    assert back == value and type(back) is type(value)


def test_bytes_travel_raw() -> None:
    """
    bytes are sent as they are, as octet-stream, and come back as bytes.
    """
    body, content_type = encode_value(b"\x00\xff raw")
    assert (body, content_type) == (b"\x00\xff raw", BYTES_TYPE)
    assert decode_payload(body, content_type) == b"\x00\xff raw"
    assert decode_result(body, content_type) == b"\x00\xff raw"


def test_unencodable_values_raise_type_error() -> None:
    """
    Values JSON cannot carry (objects, NaN) are a TypeError, not bad JSON.
    """
    for value in (object(), float("nan"), {1j: 1}):
        with pytest.raises(TypeError, match="not JSON-serializable"):
            encode_value(value)


def test_payload_without_content_type_is_json() -> None:
    """
    A body without a content type (curl -d) is read as JSON; empty is None.
    """
    assert decode_payload(b'{"a": 1}', None) == {"a": 1}
    assert decode_payload(b'{"a": 1}', b"application/x-www-form-urlencoded") == {"a": 1}
    assert decode_payload(b"", None) is None
    assert decode_payload("héllo".encode(), b"text/plain; charset=utf-8") == "héllo"


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b"NaN-ish"])
def test_malformed_and_deeply_nested_json_is_refused(body: bytes) -> None:
    """
    Bad JSON, bad UTF-8 and absurd nesting raise MalformedBody, never crash.
    """
    with pytest.raises(MalformedBody):
        loads(body)


def test_error_round_trip() -> None:
    """
    An error body rebuilds the same HttpError; the traceback only if sent.
    """
    error = HttpError(418, "teapot", traceback="Traceback: ...")
    hidden = error_from_reply(418, error_body(error, with_traceback=False), JSON_TYPE, "x")
    shown = error_from_reply(418, error_body(error, with_traceback=True), JSON_TYPE, "x")
    assert (hidden.status, hidden.message, hidden.traceback) == (418, "teapot", None)
    assert shown.traceback == "Traceback: ..."


def test_foreign_error_reply_keeps_status_and_names_origin() -> None:
    """
    An HTML error page from something else keeps its status, and the
    message says who answered and what.
    """
    error = error_from_reply(502, b"<html>Bad Gateway</html>", b"text/html", "service 'x'")
    assert error.status == 502
    assert error.message == "service 'x' answered 502: <html>Bad Gateway</html>"
    assert error_from_reply(200, b"", None, "y").status == 502
    assert isinstance(error, HttpError)


@pytest.mark.parametrize("value", [None, 0, False, "", "42", -1.5, [0, "", None], {"ü": ["𝄞", {"a": []}]},
                                   b"\x00\xff", bytearray(b"ab"), memoryview(b"cd")])
def test_across_is_what_an_http_hop_delivers(value: object) -> None:
    """
    The in-process path gets the value, content type and body size that
    encoding and decoding would give, without the body.
    """
    body, content_type = encode_value(value)
    copy, kind, size = across(value)
    expected = decode_result(body, content_type)
    assert (copy, kind, size) == (expected, content_type, len(body))
    assert type(copy) is type(expected)
    if isinstance(value, (list, dict)):
        assert copy is not value


def test_across_refuses_what_json_cannot_carry() -> None:
    for value in (object(), float("inf"), [{"k": {1, 2}}]):
        with pytest.raises(TypeError, match="not JSON-serializable"):
            across(value)
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(TypeError, match="not JSON-serializable"):
        across(loop)
