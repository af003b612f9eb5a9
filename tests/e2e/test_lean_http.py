"""
A real instance (twistd micro-service) answered by real HTTP clients on
127.0.0.1: curl and Python's http.client, with keep-alive, chunked bodies,
Expect: 100-continue, HEAD, a body over the limit and trace headers; the
calls go through the lean channel, the rest through twisted.web.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from tests._processes import Processes, free_port, instances, wait_until

pytestmark = pytest.mark.e2e

APP = """
import micro

@micro.service
def peek(payload, ctx):
    return {"echo": payload, "request_id": ctx.request_id, "trace_id": ctx.trace_id,
            "method": ctx.request.method, "agent": ctx.request.headers.get("user-agent")}
"""
TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def location(processes: Processes) -> Iterator[str]:
    (processes.workdir / "peek_app.py").write_text(APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port)
    processes.service("peek_app", url, "--max-payload-bytes", "2048")
    found = wait_until(lambda: instances(url, "peek"), what="the peek instance")
    yield found[0]


def _connection(location: str) -> http.client.HTTPConnection:
    parts = urlsplit(location)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def _call(connection: http.client.HTTPConnection, body: Any, **headers: str) -> tuple[int, Any]:
    connection.request("POST", "/", body=body, headers={"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_http_client_keep_alive_chunked_and_trace_headers(location: str) -> None:
    connection = _connection(location)
    status, reply = _call(connection, b'{"n": 1}', **{"X-Request-Id": "req-1",
                                                       "traceparent": f"00-{TRACE}-b7ad6b7169203331-01"})
    assert status == 200
    assert reply == {"echo": {"n": 1}, "request_id": "req-1", "trace_id": TRACE, "method": "POST",
                     "agent": None}
    sock = connection.sock
    status, reply = _call(connection, iter([b'{"n"', b": 2}"]))  # an iterable body goes chunked
    assert (status, reply["echo"]) == (200, {"n": 2})
    assert connection.sock is sock  # the same connection, kept alive
    status, reply = _call(connection, b"x" * 3000)
    assert status == 413 and "2048" in reply["error"]
    connection.close()


def test_http_client_head_and_other_paths_go_to_twisted_web(location: str) -> None:
    connection = _connection(location)
    connection.request("HEAD", "/_micro/health")
    response = connection.getresponse()
    assert response.status == 200 and response.read() == b""
    status, reply = _call(connection, b'"after"')
    assert (status, reply["echo"]) == (200, "after")
    connection.request("GET", "/_micro/health")
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read())["service"] == "peek"


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_curl_expect_continue_chunked_and_keep_alive(location: str, tmp_path: Any) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"text": "y" * 1500}))
    # curl waits for the 100 Continue longer than its --max-time: without one it fails.
    outputs = [tmp_path / f"reply-{n}" for n in range(3)]
    argv = ["curl", "-sS", "--max-time", "10", "-H", "Content-Type: application/json", "-H", "User-Agent: curl-test",
            "-H", "Expect: 100-continue", "--expect100-timeout", "30",
            "--data-binary", f"@{payload}", "-o", str(outputs[0]), f"{location}/",
            "--next", "-sS", "-H", "Content-Type: application/json", "-H", "Transfer-Encoding: chunked",
            "--data-binary", '{"n": 3}', "-o", str(outputs[1]), f"{location}/",
            "--next", "-sS", "-I", "-o", str(outputs[2]), f"{location}/_micro/health", "-w", "%{num_connects}"]
    done = subprocess.run(argv, capture_output=True, timeout=30, check=True)
    first, second = (json.loads(output.read_bytes()) for output in outputs[:2])
    assert first["echo"] == {"text": "y" * 1500} and first["agent"] == "curl-test"
    assert second["echo"] == {"n": 3}
    assert outputs[2].read_text().startswith("HTTP/1.1 200")
    assert done.stdout == b"0"  # the HEAD reused the connection the calls opened
