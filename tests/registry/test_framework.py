"""
The registry's own endpoints under /_micro/, before the route proxy:
health as a GET, liveness, readiness through a stop, the dashboard's
files and data, the token in production, and clear 404s and 405s.
"""

from __future__ import annotations

import base64
import json

import pytest

from micro._registry.framework import STATIC
from micro.testing import MemoryCluster
from tests._memory import fetch


def test_health_live_and_ready_are_gets(cluster: MemoryCluster) -> None:
    """
    GET /_micro/health answers what the health command answers; live and
    ready answer 200 while the registry serves.
    """
    health = fetch(cluster, b"GET", "/_micro/health")
    assert health.code == 200 and json.loads(health.body)["status"] == "ready"
    assert json.loads(health.body)["epoch"] == cluster.stacks[0].state.epoch
    assert json.loads(fetch(cluster, b"GET", "/_micro/live").body) == {"status": "live"}
    assert json.loads(fetch(cluster, b"GET", "/_micro/ready").body) == {"status": "ready"}
    assert fetch(cluster, b"HEAD", "/_micro/ready").body == b""


def test_a_stopping_registry_is_not_ready(cluster: MemoryCluster) -> None:
    """
    Once the registry starts stopping, readiness answers 503 and says so.
    """
    stack = cluster.stacks[0]
    stack.operations.stopping = True
    reply = fetch(cluster, b"GET", "/_micro/ready")
    assert (reply.code, json.loads(reply.body)) == (503, {"status": "not ready", "reason": "stopping"})
    assert fetch(cluster, b"GET", "/_micro/live").code == 200


def test_unknown_endpoints_and_methods(cluster: MemoryCluster) -> None:
    """
    An unknown /_micro/ path is a JSON 404 listing what is there; a POST a 405.
    """
    reply = fetch(cluster, b"GET", "/_micro/nothing")
    assert reply.code == 404 and "health, live, ready, metrics and ui" in json.loads(reply.body)["error"]
    assert fetch(cluster, b"POST", "/_micro/ready", b"{}").code == 405


@pytest.mark.parametrize("path, name", [("/_micro/ui", "index.html"), ("/_micro/ui/", "index.html"),
                                        ("/_micro/ui/app.js", "app.js"), ("/_micro/ui/style.css", "style.css")])
def test_the_dashboards_files_come_from_the_package(cluster: MemoryCluster, path: str, name: str) -> None:
    """
    The page and its script and style are served from micro's package,
    with their types; nothing refers to another host.
    """
    reply = fetch(cluster, b"GET", path)
    assert (reply.code, reply.header(b"content-type")) == (200, STATIC[name])
    assert b"http://" not in reply.body and b"https://" not in reply.body
    assert fetch(cluster, b"GET", "/_micro/ui/secrets.txt").code == 404


def test_the_dashboard_needs_the_token_in_production() -> None:
    """
    In production the page and its data need the token: a 401 that makes
    a browser ask (WWW-Authenticate: Basic), then the token as password.
    """
    cluster = MemoryCluster()
    cluster.registry(token="s3cret", production=True)
    refused = fetch(cluster, b"GET", "/_micro/ui")
    assert refused.code == 401 and refused.header(b"www-authenticate").startswith(b"Basic")
    assert fetch(cluster, b"GET", "/_micro/ui/data").code == 401
    basic = b"Basic " + base64.b64encode(b"admin:s3cret")
    assert fetch(cluster, b"GET", "/_micro/ui/data", headers={b"authorization": basic}).code == 200
    wrong = b"Basic " + base64.b64encode(b"admin:nope")
    assert fetch(cluster, b"GET", "/_micro/ui", headers={b"authorization": wrong}).code == 403
    assert fetch(cluster, b"GET", "/_micro/live").code == 200
    assert fetch(cluster, b"GET", "/_micro/health").code == 200
