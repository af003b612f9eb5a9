"""
The cluster of the HTTP conformance tests (tests/e2e/test_http_conformance*.py):
a twistd registry and a twistd service with routes, on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterator

import pytest

from tests._processes import Processes, command, free_port, instances, wait_until

APP = """
import hashlib

import micro


@micro.route("/conformance/echo")
@micro.route("/conformance/tree/*")
def conformance(payload, ctx):
    answer = {"method": ctx.request.method, "path": ctx.request.path}
    if isinstance(payload, bytes):
        answer.update(size=len(payload), sha256=hashlib.sha256(payload).hexdigest())
    else:
        answer["payload"] = payload
    return answer
"""

LARGE = bytes(range(256)) * (4 * 1024 * 1024 // 256)  # 4 MiB
CHUNKS = [b"first chunk;", b"x" * 70_000, b"", b"last"]  # an empty piece is skipped, not an end
TIMEOUT = 30


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def front_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """
    A twistd registry and a twistd service with the routes, for a whole
    test module: the registry's port and the instance's.
    """
    group = Processes(tmp_path_factory.mktemp("conformance"))
    try:
        (group.workdir / "conformance_app.py").write_text(APP)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        group.registry(port)
        group.service("conformance_app", url)

        def ready() -> list[str]:
            status, routes = command(url, {"routes": True})
            paths = {r["path"] for r in routes} if status == 200 else set()
            return instances(url, "conformance") if {"/conformance/echo", "/conformance/tree/*"} <= paths else []

        location = wait_until(ready, what="the conformance service and its routes")[0]
        yield {"registry": port, "instance": int(location.rsplit(":", 1)[1])}
    finally:
        group.stop_all()


@pytest.fixture(params=["registry", "instance"])
def target(request: pytest.FixtureRequest, front_door: dict[str, Any]) -> int:
    """
    A port: each test that takes it runs against the registry's front door
    and against the instance directly.
    """
    return int(front_door[request.param])
