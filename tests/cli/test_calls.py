"""
micro call, and micro get/post/put/delete through the front door, against an in-memory cluster.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.task import deferLater
from twisted.python import usage

from micro import HttpError
from micro._cli.main import parse
from micro.testing import MemoryCluster
from tests._cli import Shell


def _services(cluster: MemoryCluster) -> Any:
    node = cluster.node()

    def greet(payload: Any) -> Any:
        return {"message": f"Hello, {payload['name']}"}

    def raw(payload: Any) -> bytes:
        return b"\x00\xffraw"

    def refuse(payload: Any) -> None:
        raise HttpError(403, "not you")

    async def slow(payload: Any) -> str:
        await deferLater(cluster.clock, 60)
        return "late"

    for fn in (greet, raw, refuse, slow):
        cluster.result(node.create_service(fn))
    cluster.result(node.create_service(lambda payload: payload, "echo"))
    return node


def test_call_prints_the_result_as_json(cluster: MemoryCluster) -> None:
    """
    call NAME JSON: the result, as indented JSON; with --json, on one line.
    """
    _services(cluster)
    outcome = Shell(cluster).run("call", "greet", '{"name": "Ann"}')
    assert outcome.status == 0 and json.loads(outcome.text) == {"message": "Hello, Ann"}
    assert outcome.text == '{\n  "message": "Hello, Ann"\n}\n'
    assert Shell(cluster).run("call", "greet", '{"name": "Bo"}', "--json").text == '{"message":"Hello, Bo"}\n'


def test_payload_types_survive(cluster: MemoryCluster) -> None:
    """
    Strings stay strings, null and zero survive, no payload is null.
    """
    _services(cluster)
    assert Shell(cluster).run("call", "echo", '"42"').text == '"42"\n'
    assert Shell(cluster).run("call", "echo", "0").text == "0\n"
    assert Shell(cluster).run("call", "echo").text == "null\n"


def test_payload_from_a_file(cluster: MemoryCluster, tmp_path: Path) -> None:
    """
    @FILE reads the payload from a file of JSON.
    """
    _services(cluster)
    (tmp_path / "p.json").write_text('{"name": "File"}')
    assert json.loads(Shell(cluster).run("call", "greet", f"@{tmp_path / 'p.json'}").text) == {"message": "Hello, File"}


def test_bytes_go_to_stdout_as_they_are(cluster: MemoryCluster) -> None:
    """
    A service returning bytes: the bytes, nothing added.
    """
    _services(cluster)
    assert Shell(cluster).run("call", "raw").stdout == b"\x00\xffraw"


def test_a_service_error_is_one_line_and_status_1(cluster: MemoryCluster) -> None:
    """
    An HttpError raised by the service: its status and message on stderr, status 1.
    """
    _services(cluster)
    outcome = Shell(cluster).run("call", "refuse")
    assert (outcome.status, outcome.stdout, outcome.stderr) == (1, b"", "micro: 403: not you\n")


def test_an_unknown_service_is_a_404(cluster: MemoryCluster) -> None:
    """
    Calling a service nobody registered: 404 naming it.
    """
    outcome = Shell(cluster).run("call", "ghost", "{}")
    assert outcome.status == 1 and outcome.stderr == "micro: 404: no service named 'ghost' is registered\n"


def test_timeout_gives_a_504(cluster: MemoryCluster) -> None:
    """
    --timeout bounds the call: past it, a 504 naming the instance.
    """
    _services(cluster)
    running = Shell(cluster).start("call", "slow", "--timeout", "2")
    cluster.advance(2)
    outcome = running.outcome(cluster)
    assert outcome.status == 1 and outcome.stderr.startswith("micro: 504: call to 'slow' failed: no reply from")


def test_options_may_follow_the_arguments(cluster: MemoryCluster) -> None:
    """
    GNU style: options after the arguments, and -- before an argument that starts with a dash.
    """
    _services(cluster)
    assert Shell(cluster).run("call", "echo", "--retries", "1", "--", "-5").text == "-5\n"


def _routes(cluster: MemoryCluster) -> None:
    node = cluster.node()

    def users(payload: Any, ctx: Any) -> Any:
        return {"method": ctx.request.method, "got": payload,
                "accept": ctx.request.headers.get("accept")}

    cluster.result(node.create_route("/api/users", users))
    cluster.result(node.create_route("/api/text", lambda p: "plain words"))


@pytest.mark.parametrize("method", ["get", "delete"])
def test_get_and_delete_go_through_the_front_door(cluster: MemoryCluster, method: str) -> None:
    """
    get/delete PATH: the route's reply body, as it is.
    """
    _routes(cluster)
    outcome = Shell(cluster).run(method, "/api/users?team=a", "-H", "Accept: text/csv")
    assert outcome.status == 0
    assert json.loads(outcome.text) == {"method": method.upper(), "got": {"team": "a"}, "accept": "text/csv"}


@pytest.mark.parametrize("method", ["post", "put"])
def test_post_and_put_send_a_json_body(cluster: MemoryCluster, method: str) -> None:
    """
    post/put PATH JSON: sent as application/json, decoded by the route.
    """
    _routes(cluster)
    outcome = Shell(cluster).run(method, "/api/users", '{"name": "Ann"}')
    assert json.loads(outcome.text)["got"] == {"name": "Ann"}


def test_post_with_a_content_type_sends_the_body_as_it_is(cluster: MemoryCluster) -> None:
    """
    --content-type sends the text unchanged (not JSON-checked).
    """
    _routes(cluster)
    outcome = Shell(cluster).run("post", "/api/users", "a,b,c", "--content-type", "text/plain")
    assert json.loads(outcome.text)["got"] == "a,b,c"


def test_include_prints_status_and_headers(cluster: MemoryCluster) -> None:
    """
    --include: the status line and headers, then the body.
    """
    _routes(cluster)
    outcome = Shell(cluster).run("get", "/api/text", "-i")
    head, _, body = outcome.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200\r\n") and b"Content-Type: text/plain" in head
    assert body == b"plain words"


def test_a_path_without_a_route_is_a_404_line(cluster: MemoryCluster) -> None:
    """
    A path nothing routes: status 1 and the front door's message on one line.
    """
    outcome = Shell(cluster).run("get", "/nowhere")
    assert (outcome.status, outcome.stdout) == (1, b"")
    assert outcome.stderr == "micro: 404: no route matches /nowhere\n"


def test_a_path_must_start_with_a_slash(cluster: MemoryCluster) -> None:
    """
    A path without its leading slash is a usage error, before anything is sent.
    """
    with pytest.raises(usage.UsageError, match="starts with '/'"):
        parse(["get", "api/users"], {})
