"""
Arbitrary requests through a wildcard route of a twistd registry reach the
handler exactly as sent: method, path, query string, a header and the body.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests._processes import Processes, command, free_port, wait_until
from tests._raw_http import send

pytestmark = pytest.mark.e2e

APP = '''
import hashlib
import micro


@micro.route("/*")
def mirror(payload, ctx):
    body = payload if isinstance(payload, bytes) else b""
    return {"method": ctx.request.method, "url": ctx.request.url, "fuzz": ctx.request.headers.get("x-fuzz"),
            "sha": hashlib.sha256(body).hexdigest(), "token": ctx.request.headers.get("micro-registry-token")}
'''

# Anything a request target may hold, but '#' (a fragment never travels).
TARGET_CHARS = "".join(chr(c) for c in range(0x21, 0x7f) if chr(c) not in "#?")
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def test_requests_reach_the_handler_as_sent(processes: Processes) -> None:
    """
    Whatever the method, path, query, header value and body, the handler
    sees them unchanged, and never the registry token.
    """
    (processes.workdir / "mirror_app.py").write_text(APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port)
    processes.service("mirror_app", url)
    wait_until(lambda: command(url, {"routes": True})[1] == [{"path": "/*", "service": "mirror",
                                                              "dataType": "dynamic"}], what="route")

    @FUZZ
    @given(method=st.sampled_from([b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"]),
           path=st.text(alphabet=TARGET_CHARS, max_size=40),
           # A bare "?" (empty query) arrives as no query at all, the same thing.
           query=st.none() | st.text(alphabet=TARGET_CHARS + "?", min_size=1, max_size=30),
           value=st.text(alphabet="".join(chr(c) for c in range(0x21, 0x7f)), min_size=1, max_size=30),
           body=st.binary(max_size=3000))
    def through_the_route(method: bytes, path: str, query: str | None, value: str, body: bytes) -> None:
        assume(not (method == b"POST" and path == ""))  # POST / is the registry's own: commands
        # Twisted's HTTP client drops an empty ";params" from the last segment, as it does an empty "?".
        assume(not path.endswith(";"))
        target = "/" + path + ("" if query is None else "?" + query)
        if method == b"GET":
            body = b""
        headers = [(b"x-fuzz", value.encode()), (b"content-type", b"application/octet-stream"),
                   (b"micro-registry-token", b"never-forwarded")]
        reply = send(port, method, target.encode(), headers, body)
        assert reply.status == 200, (target, reply)
        seen = json.loads(reply.body)
        assert seen == {"method": method.decode(), "url": target, "fuzz": value,
                        "sha": hashlib.sha256(body).hexdigest(), "token": None}

    through_the_route()
