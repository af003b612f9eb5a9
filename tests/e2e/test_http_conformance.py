"""
End to end: the HTTP that curl and wrk speak, against a twistd registry's
front door (a route) and against an instance directly (its C{POST /} call
and the same route), on 127.0.0.1 (tests/_conformance.py).

What a server's HTTP/1.1 engine must get right: keep-alive (several
requests on one connection), chunked request bodies, C{Expect:
100-continue} before a large body, HEAD (headers, no body, and the
connection still usable after it), and a burst of keep-alive load.  These
pass on the engine of today and guard any that replaces it;
test_http_conformance_client.py does the same with Python's http.client.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests._conformance import CHUNKS, LARGE, TIMEOUT, digest

pytestmark = pytest.mark.e2e


def _curl(*args: str) -> subprocess.CompletedProcess[str]:
    if not shutil.which("curl"):
        pytest.skip("curl is not installed (apt package curl)")
    return subprocess.run(["curl", "--silent", "--show-error", "--max-time", str(TIMEOUT), *args],
                          capture_output=True, text=True, timeout=TIMEOUT + 10)


def _json_lines(out: str) -> list[Any]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# curl


def test_curl_reuses_one_connection_for_two_urls(target: int) -> None:
    """
    Two URLs in one curl: the second request goes on the first's connection.
    """
    base = f"http://127.0.0.1:{target}"
    done = _curl("-v", "-w", "\\n", f"{base}/conformance/echo?n=1", f"{base}/conformance/tree/a/b?n=2")
    assert done.returncode == 0, done.stderr
    assert re.search(r"Re-using existing connection", done.stderr), done.stderr
    assert done.stderr.count("Connected to 127.0.0.1") == 1, done.stderr
    first, second = _json_lines(done.stdout)
    assert first == {"method": "GET", "path": "/conformance/echo", "payload": {"n": "1"}}
    assert second == {"method": "GET", "path": "/conformance/tree/a/b", "payload": {"n": "2"}}


def test_curl_chunked_request_body(target: int, tmp_path: Path) -> None:
    """
    A body sent chunked (no Content-Length) arrives whole.
    """
    body = b"".join(CHUNKS) * 10
    (tmp_path / "body").write_bytes(body)
    done = _curl("-v", "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/octet-stream",
                 "--data-binary", f"@{tmp_path / 'body'}", f"http://127.0.0.1:{target}/conformance/echo")
    assert done.returncode == 0, done.stderr
    assert "> Transfer-Encoding: chunked" in done.stderr
    assert json.loads(done.stdout) == {"method": "POST", "path": "/conformance/echo", "size": len(body),
                                       "sha256": digest(body)}


def test_curl_expect_100_continue_large_body(target: int, tmp_path: Path) -> None:
    """
    Asked to, the server says 100 Continue before curl sends 4 MiB, and
    the body arrives whole.
    """
    (tmp_path / "large").write_bytes(LARGE)
    done = _curl("-v", "-H", "Expect: 100-continue", "-H", "Content-Type: application/octet-stream",
                 "--expect100-timeout", str(TIMEOUT), "--data-binary", f"@{tmp_path / 'large'}",
                 f"http://127.0.0.1:{target}/conformance/echo")
    assert done.returncode == 0, done.stderr
    assert "< HTTP/1.1 100 Continue" in done.stderr, done.stderr
    assert json.loads(done.stdout) == {"method": "POST", "path": "/conformance/echo", "size": len(LARGE),
                                       "sha256": digest(LARGE)}


def test_curl_head_then_reuse(target: int) -> None:
    """
    C{curl -I}: a 200 with the GET's headers and no body, and the same
    connection serves the next HEAD.
    """
    url = f"http://127.0.0.1:{target}/conformance/echo?n=1"
    done = _curl("-v", "-I", url, url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("HTTP/1.1 200") == 2, done.stdout
    assert re.search(r"(?im)^content-type: application/json", done.stdout), done.stdout
    assert re.search(r"Re-using existing connection", done.stderr), done.stderr


def test_curl_call_on_the_instance(front_door: dict[str, int]) -> None:
    """
    C{POST /} on an instance is a call: two of them on one connection.
    """
    url = f"http://127.0.0.1:{front_door['instance']}/"
    done = _curl("-v", "-w", "\\n", "-H", "Content-Type: application/json", "-d", '{"x": 1}', url,
                 "--next", "-H", "Content-Type: application/json", "-d", '{"x": 2}', url)
    assert done.returncode == 0, done.stderr
    assert re.search(r"Re-using existing connection", done.stderr), done.stderr
    assert [answer["payload"] for answer in _json_lines(done.stdout)] == [{"x": 1}, {"x": 2}]


# wrk


def _wrk(url: str, tmp_path: Path, script: str = "") -> str:
    if not shutil.which("wrk"):
        pytest.skip("wrk is not installed (apt package wrk)")
    args = ["wrk", "-t1", "-c4", "-d1s", "--timeout", "5s"]
    if script:
        (tmp_path / "load.lua").write_text(script)
        args += ["-s", str(tmp_path / "load.lua")]
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _assert_clean(out: str) -> None:
    # wrk prints these lines only when there were any.
    assert "Non-2xx or 3xx responses" not in out, out
    assert "Socket errors" not in out, out
    requests = re.search(r"(\d+) requests in", out)
    assert requests and int(requests.group(1)) > 0, out


def test_wrk_route(target: int, tmp_path: Path) -> None:
    """
    A short wrk run (4 keep-alive connections, 1 s) on the route: no
    non-2xx answer, no socket error.
    """
    _assert_clean(_wrk(f"http://127.0.0.1:{target}/conformance/tree/x?n=1", tmp_path))


def test_wrk_calls_on_the_instance(front_door: dict[str, int], tmp_path: Path) -> None:
    """
    The same with C{POST /} calls on the instance.
    """
    script = 'wrk.method = "POST"\nwrk.body = \'{"x": 1}\'\nwrk.headers["Content-Type"] = "application/json"\n'
    _assert_clean(_wrk(f"http://127.0.0.1:{front_door['instance']}/", tmp_path, script))
