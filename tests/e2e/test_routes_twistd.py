"""
End to end: routes declared with @micro.route in a twistd service
process, through a twistd registry: 50 MiB each way while the registry's
memory is watched from /proc, and routes that come back after the
registry is killed and started again.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import signal
import time
from typing import Iterator

import pytest

from tests._processes import Processes, command, free_port, proc_status, reset_peak, wait_until

pytestmark = pytest.mark.e2e

SIZE = 50 * 1024 * 1024
CHUNK = 64 * 1024
PATTERN = bytes(range(256)) * (CHUNK // 256)
ALLOWED_GROWTH = 20 * 1024 * 1024

APP = f"""
import hashlib
import micro

SIZE = {SIZE}
PATTERN = bytes(range(256)) * {CHUNK // 256}


@micro.route("/big/upload")
def upload(payload, ctx):
    return {{"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest(),
             "type": ctx.request.headers.get("content-type")}}


@micro.route("/big/download")
def download(payload):
    return micro.Response(PATTERN * (SIZE // len(PATTERN)), content_type="application/octet-stream")
"""


def _chunks() -> Iterator[bytes]:
    for _ in range(SIZE // CHUNK):
        yield PATTERN


def _expected_digest() -> str:
    digest = hashlib.sha256()
    for chunk in _chunks():
        digest.update(chunk)
    return digest.hexdigest()


def _routes_ready(url: str) -> bool:
    status, routes = command(url, {"routes": True})
    return status == 200 and {r["path"] for r in routes} >= {"/big/upload", "/big/download"}


def test_fifty_mebibytes_stream_both_ways_without_growing_the_registry(processes: Processes) -> None:
    """
    A 50 MiB upload and a 50 MiB download pass through a route intact, and
    the registry's peak RSS grows by less than 20 MiB meanwhile.
    """
    (processes.workdir / "big_app.py").write_text(APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registry = processes.registry(port)
    processes.service("big_app", url)
    wait_until(lambda: _routes_ready(url), what="routes of big_app")

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/big/upload?warm=1")  # warm the registry's pools up before measuring
    connection.getresponse().read()
    before = proc_status(registry.pid, "VmRSS")
    reset_peak(registry.pid)

    connection.request("POST", "/big/upload", body=_chunks(),
                       headers={"Content-Length": str(SIZE), "Content-Type": "application/octet-stream"})
    response = connection.getresponse()
    uploaded = json.loads(response.read())
    assert response.status == 200, uploaded
    assert uploaded == {"size": SIZE, "sha256": _expected_digest(), "type": "application/octet-stream"}

    connection.request("GET", "/big/download")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("content-type") == "application/octet-stream"
    assert response.getheader("content-length") == str(SIZE)
    digest, received = hashlib.sha256(), 0
    while chunk := response.read(CHUNK):
        digest.update(chunk)
        received += len(chunk)
        if received == 16 * CHUNK:
            # A client that stops reading for a moment: the registry must
            # pause the instance rather than buffer what it sends meanwhile.
            time.sleep(0.5)
    assert (received, digest.hexdigest()) == (SIZE, _expected_digest())
    connection.close()

    growth = proc_status(registry.pid, "VmHWM") - before
    assert growth < ALLOWED_GROWTH, f"registry peak RSS grew by {growth / 2**20:.1f} MiB"


GREETER = """
import micro


@micro.route("/api/hello")
def hello(payload):
    return {"message": "Hello, " + payload.get("name", "World")}
"""


def _hello(url: str) -> tuple[int, object]:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=5)
        connection.request("GET", "/api/hello?name=Ann")
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_routes_come_back_after_the_registry_is_killed_and_restarted(processes: Processes) -> None:
    """
    After the registry process dies and a new one starts on its port, the
    service process declares its route again by itself, within seconds.
    """
    (processes.workdir / "greeter_app.py").write_text(GREETER)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registry = processes.registry(port)
    processes.service("greeter_app", url)
    wait_until(lambda: _hello(url) == (200, {"message": "Hello, Ann"}), what="route before the restart")

    registry.signal(signal.SIGKILL)
    registry.wait(10)
    processes.registry(port)
    wait_until(lambda: _hello(url) == (200, {"message": "Hello, Ann"}), timeout=10, what="route after the restart")
