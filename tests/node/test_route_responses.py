"""
Route replies: content-type detection and how handler results are encoded.
"""

from __future__ import annotations

import pytest

from micro import Response
from micro._node.route_responses import detect_content_type, encode_reply


@pytest.mark.parametrize("value, expected", [
    ({"a": 1}, b"application/json"),
    ([1, 2], b"application/json"),
    (42, b"application/json"),
    (None, b"application/json"),
    (b"\x00\x01", b"application/octet-stream"),
    (bytearray(b"x"), b"application/octet-stream"),
    ("<!DOCTYPE html><html></html>", b"text/html; charset=utf-8"),
    ("  <html><body>hi</body></html>", b"text/html; charset=utf-8"),
    ("<p>hello</p>", b"text/html; charset=utf-8"),
    ("<br/>", b"text/html; charset=utf-8"),
    ("<!-- note --><div></div>", b"text/html; charset=utf-8"),
    ('<?xml version="1.0"?><a/>', b"application/xml; charset=utf-8"),
    ('{"a": 1}', b"application/json"),
    (" [1, 2] ", b"application/json"),
    ("{not json", b"text/plain; charset=utf-8"),
    ("42", b"text/plain; charset=utf-8"),
    ("hello", b"text/plain; charset=utf-8"),
    ("a < b > c", b"text/plain; charset=utf-8"),
    ("<3 you", b"text/plain; charset=utf-8"),
    ("", b"text/plain; charset=utf-8"),
])
def test_dynamic_content_types(value: object, expected: bytes) -> None:
    """
    'dynamic' labels HTML-looking text as HTML, JSON as JSON, bytes as octets, other text as plain text.
    """
    assert detect_content_type(value) == expected


def test_dict_encodes_as_json() -> None:
    """
    A dict becomes compact JSON with status 200.
    """
    reply = encode_reply({"users": ["Alice", "Bob"]})
    assert (reply.status, reply.body) == (200, b'{"users":["Alice","Bob"]}')
    assert reply.headers == [(b"content-type", b"application/json")]


def test_explicit_data_type_wins_over_detection() -> None:
    """
    A route's explicit data type labels the reply, with a charset added for text.
    """
    assert encode_reply("<p>x</p>", "text/plain").headers == [(b"content-type", b"text/plain; charset=utf-8")]
    assert encode_reply({"a": 1}, "text/csv").headers == [(b"content-type", b"text/csv")]
    reply = encode_reply(b"\x89PNG", "image/png")
    assert reply.headers == [(b"content-type", b"image/png")] and reply.body == b"\x89PNG"


def test_response_sets_status_headers_and_content_type() -> None:
    """
    A Response's status, headers and content type win over the route's data type.
    """
    reply = encode_reply(Response("created", status=201, headers={"Location": "/x/1"}, content_type="text/x-note"),
                         "application/json")
    assert reply.status == 201
    assert reply.body == b"created"
    assert reply.headers == [(b"content-type", b"text/x-note"), (b"Location", b"/x/1")]


def test_response_header_content_type_is_kept() -> None:
    """
    A content type given among a Response's headers is used as it is.
    """
    reply = encode_reply(Response({"a": 1}, headers=[("Content-Type", "application/vnd.x+json")]))
    assert reply.headers == [(b"Content-Type", b"application/vnd.x+json")]


def test_no_content_has_no_body() -> None:
    """
    A 204 reply carries neither body nor content type.
    """
    reply = encode_reply(Response({"ignored": True}, status=204))
    assert (reply.status, reply.body, reply.headers) == (204, b"", [])


@pytest.mark.parametrize("status", [99, 600, "200", True])
def test_response_status_must_be_valid(status: object) -> None:
    """
    A Response with a status outside 100-599, or not an int, is refused at once.
    """
    with pytest.raises(ValueError):
        Response("x", status=status)  # type: ignore[arg-type]


def test_bad_headers_and_values_are_type_errors() -> None:
    """
    Non-ASCII header values and values JSON cannot carry raise TypeError.
    """
    with pytest.raises(TypeError):
        encode_reply(Response("x", headers={"X-Name": "caf\u00e9"}))
    with pytest.raises(TypeError):
        encode_reply({"when": object()})
