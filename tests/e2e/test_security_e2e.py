"""
A production cluster with a token, end to end: it works for those who
hold the token, refuses those who do not, and never writes the token to
a log or hands it to a service.
"""

from __future__ import annotations

import json

import pytest

from tests._processes import Processes, command, free_port, instances, wait_until
from tests._raw_http import send

pytestmark = pytest.mark.e2e

TOKEN = "prod-token-7f3a9c"
APP = '''
import micro


@micro.route("/api/headers")
def headers(payload, ctx):
    return ctx.request.headers


@micro.service
def crash(payload):
    raise RuntimeError("database password is hunter2")
'''


def test_production_cluster_keeps_its_token_and_tracebacks_to_itself(processes: Processes) -> None:
    """
    With MICRO_ENV=production and a token: commands without it are refused,
    the token never reaches a route's service nor any log, and a crash
    tells the client nothing about itself.
    """
    (processes.workdir / "prod_app.py").write_text(APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MICRO_ENV": "production", "MICRO_REGISTRY_TOKEN": TOKEN}
    registry = processes.registry(port, env=env)
    service = processes.service("prod_app", url, env=env)
    wait_until(lambda: len(instances(url, "crash")) == 1, what="service registered")
    # Routes are declared once the services are up: wait for the route too.
    wait_until(lambda: "/api/headers" in [r["path"] for r in command(url, {"routes": True})[1]], what="route declared")

    assert command(url, {"setup": {"service": "x", "home": "http://127.0.0.1"}})[0] == 401
    assert command(url, {"setup": {"service": "x", "home": "http://127.0.0.1"}}, token="nope")[0] == 403
    assert command(url, {"publish": {"channel": "c", "message": 1}}, token=TOKEN)[0] == 200

    reply = send(port, b"GET", b"/api/headers", [(b"micro-registry-token", TOKEN.encode()), (b"x-mine", b"1")])
    assert reply.status == 200
    seen = reply.json()
    assert seen["x-mine"] == "1" and "micro-registry-token" not in seen
    assert TOKEN not in json.dumps(seen)

    status, body = command(url, {"call": {"service": "crash"}})
    assert (status, body) == (500, {"error": "internal error in service 'crash'", "status": 500})

    registry.stop()
    service.stop()
    for process in (registry, service):
        assert TOKEN not in process.log()
    assert "hunter2" in service.log(), "the crash is in the service's own log"
