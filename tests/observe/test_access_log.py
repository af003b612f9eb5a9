"""
Access lines: Apache's combined format with duration and ids, or JSON.
"""

from __future__ import annotations

import io
import json

import pytest
from twisted.internet.address import IPv4Address
from twisted.web.test.requesthelper import DummyRequest

from micro._kernel.propagation import Propagation
from micro._observe.access_log import AccessLog

CONTEXT = Propagation("req-1", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")


def _request() -> DummyRequest:
    request = DummyRequest([b"api", b"items"])
    request.method, request.uri, request.clientproto = b"GET", b'/api/items?q="x"', b"HTTP/1.1"
    request.requestHeaders.setRawHeaders(b"user-agent", [b"curl/8.0"])
    request.client = IPv4Address("TCP", "192.168.1.1", 40000)
    return request


def test_combined_format() -> None:
    """
    One line a log tool reads: client, time, request line, status, bytes,
    referer, agent; then duration, request id, trace id.
    """
    out = io.StringIO()
    log = AccessLog(out, "combined", now=lambda: 0.0)
    log.route(_request(), "/api/*", "items", 200, 0.0125, 42, CONTEXT)
    log.call("hello", 500, 0.5, CONTEXT)
    route, call = out.getvalue().splitlines()
    assert route == ('192.168.1.1 - - [01/Jan/1970:00:00:00 +0000] "GET /api/items?q=\\"x\\" HTTP/1.1" 200 42 "-" '
                     '"curl/8.0" 0.012500 req-1 4bf92f3577b34da6a3ce929d0e0e4736')
    assert call == '- - - [01/Jan/1970:00:00:00 +0000] "CALL hello" 500 - "-" "-" 0.500000 req-1 ' \
                   '4bf92f3577b34da6a3ce929d0e0e4736'


def test_json_lines() -> None:
    """
    One JSON object per line, with named fields.
    """
    out = io.StringIO()
    log = AccessLog(out, "json", now=lambda: 0.0)
    log.route(_request(), None, None, 404, 0.001, None, CONTEXT)
    line = json.loads(out.getvalue())
    assert line == {"time": "1970-01-01T00:00:00Z", "kind": "route", "remote": "192.168.1.1", "method": "GET",
                    "path": '/api/items?q="x"', "route": None, "service": None, "status": 404, "bytes": None,
                    "duration": 0.001, "request_id": "req-1", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                    "referer": None, "user_agent": "curl/8.0"}


def test_a_file_and_a_bad_format(tmp_path: object) -> None:
    """
    open() appends to a file, line-buffered; an unknown format is refused.
    """
    path = f"{tmp_path}/access.log"
    log = AccessLog.open(path, "json")
    log.call("a", 200, 0.1, CONTEXT)
    assert json.loads(open(path).read())["service"] == "a"
    log.close()
    with pytest.raises(ValueError, match="combined, json"):
        AccessLog.open(path, "xml")
