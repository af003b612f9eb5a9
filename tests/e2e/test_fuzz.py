"""
Hostile input against a running registry and a running service instance:
random bodies, headers, JSON shapes and command payloads.  Every answer is
a 4xx with a JSON error body, both processes stay up, and the service
table is the same afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._processes import Processes, command, free_port, instances, wait_until
from tests._raw_http import send

pytestmark = pytest.mark.e2e

TOKEN = "fuzz-token"
APP = '''
import micro


@micro.service
def validateService(payload):
    if not isinstance(payload, dict) or "userId" not in payload:
        raise micro.HttpError(400, "Missing required field: userId")
    if payload["userId"] != "admin":
        raise micro.HttpError(403, "Forbidden: insufficient permissions")
    raise micro.HttpError(409, "admin needs no validation")
'''

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
not_strings = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.lists(st.integers(),
                                                                                                 max_size=2)
bad_names = st.one_of(not_strings, st.sampled_from(["", "has space", "all", "-x", "x" * 200, "a/b", "ü"]))
bad_urls = st.one_of(not_strings, st.sampled_from(["", "localhost:1", "ftp://x:1", "http://h:1?q", "http://u:p@h:1",
                                                   "http://h :1", "http://:1", "http://h:99999"]))
bad_channels = st.one_of(not_strings, st.sampled_from(["", "a b", "a..b", ".a", "a.", "x" * 300, "a*b"]))


def _bad_argument(name: str) -> st.SearchStrategy[Any]:
    """
    Arguments that the command must refuse (or, for lookups, not find).
    """
    return {
        "lookup": st.one_of(not_strings, bad_names, st.text(min_size=1, max_size=20).filter(
            lambda s: s not in ("all", "*", "validateService"))),
        "setup": st.one_of(json_values.filter(lambda v: not isinstance(v, dict)),
                           st.fixed_dictionaries({"service": bad_names, "home": st.just("http://h")}),
                           st.fixed_dictionaries({"service": st.just("svc"), "home": bad_urls})),
        "register": st.one_of(st.fixed_dictionaries({"service": bad_names, "location": st.just("http://h:1")}),
                              st.fixed_dictionaries({"service": st.just("svc"), "location": bad_urls}),
                              st.fixed_dictionaries({"type": st.text(max_size=5).filter(lambda t: t not in (
                                  "service", "route")), "service": st.just("svc")})),
        "unregister": st.fixed_dictionaries({"service": st.just("svc"), "location": st.just("http://ghost.invalid:1")}),
        "call": st.one_of(st.fixed_dictionaries({"service": bad_names}),
                          st.fixed_dictionaries({"service": st.just("ghost"), "payload": json_values})),
        "watch": st.one_of(st.fixed_dictionaries({"node": st.one_of(not_strings, st.just(""), st.just("a b")),
                                                  "version": st.integers()}),
                           st.fixed_dictionaries({"node": st.just("n"), "version": st.one_of(
                               st.text(max_size=3), st.booleans(), st.floats(allow_nan=False))})),
        "heartbeat": st.fixed_dictionaries({"node": st.one_of(not_strings, st.just(""), st.just("a b"))}),
        "settle": st.fixed_dictionaries({"version": st.one_of(st.text(max_size=3), st.none(), st.booleans())}),
        "publish": st.one_of(st.fixed_dictionaries({"channel": bad_channels, "message": json_values}),
                             st.fixed_dictionaries({"channel": st.just("c"), "message": st.just(1),
                                                    "timeout": st.sampled_from([0, -1, 1e9, "x"])})),
        "subscribe": st.fixed_dictionaries({"channel": bad_channels, "location": st.just("http://h:1"),
                                            "node": st.just("n")}),
        "unsubscribe": st.fixed_dictionaries({"channel": bad_channels, "location": st.just("http://h:1")}),
    }.get(name, json_values)


COMMANDS = ["lookup", "setup", "register", "unregister", "call", "watch", "heartbeat", "settle", "publish",
            "subscribe", "unsubscribe"]

bad_commands = st.sampled_from(COMMANDS).flatmap(
    lambda name: _bad_argument(name).map(lambda argument: json.dumps({name: argument}).encode()))
bad_shapes = json_values.filter(lambda v: not (isinstance(v, dict) and len(v) == 1)).map(
    lambda v: json.dumps(v).encode())
unknown_commands = st.dictionaries(st.text(min_size=1, max_size=10).filter(lambda k: k not in COMMANDS + ["health"]),
                                   json_values, min_size=1, max_size=1).map(lambda d: json.dumps(d).encode())
deep = st.integers(min_value=1000, max_value=50_000).map(lambda n: b"[" * n + b"]" * n)
junk = st.one_of(st.binary(max_size=300), bad_shapes, unknown_commands, deep)

header_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
    lambda n: n not in ("content-length", "transfer-encoding", "connection", "host", "expect")).map(str.encode)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.encode)
random_headers = st.lists(st.tuples(header_names, header_values), max_size=6)
content_types = st.sampled_from([b"application/json", b"text/plain", b"application/octet-stream", b"",
                                 b"multipart/form-data; boundary=x", b"application/x-www-form-urlencoded"])
tokens = st.sampled_from([TOKEN.encode(), TOKEN.encode(), b"wrong", None])


def _is_json_error(reply: Any) -> bool:
    try:
        document = reply.json()
    except ValueError:
        return False
    return isinstance(document, dict) and isinstance(document.get("error"), str) and document.get("status") == reply.status


def test_fuzzing_registry_and_instance_gets_only_json_4xx(processes: Processes) -> None:
    """
    Hundreds of hostile requests each get a 4xx JSON error; the registry
    and the service process stay up and the table is unchanged.
    """
    (processes.workdir / "fuzz_app.py").write_text(APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MICRO_REGISTRY_TOKEN": TOKEN}
    registry = processes.registry(port, env=env)
    service = processes.service("fuzz_app", url, env=env)
    wait_until(lambda: len(instances(url, "validateService")) == 1, what="service registered")
    table_before = command(url, {"lookup": "all"})
    location = instances(url, "validateService")[0]
    service_port = int(location.rsplit(":", 1)[1])
    seen: list[int] = []

    def post_command(body: bytes, headers: list[tuple[bytes, bytes]], content_type: bytes, token: bytes | None) -> None:
        extra = list(headers) + [(b"content-type", content_type)]
        if token is not None:
            extra.append((b"micro-registry-token", token))
        reply = send(port, b"POST", b"/", extra, body)
        seen.append(reply.status)
        assert 400 <= reply.status < 500 and _is_json_error(reply), (body[:200], reply)

    @FUZZ
    @given(body=junk, headers=random_headers, content_type=content_types, token=tokens)
    def registry_junk(body: bytes, headers: list[tuple[bytes, bytes]], content_type: bytes,
                      token: bytes | None) -> None:
        post_command(body, headers, content_type, token)

    @FUZZ
    @given(body=bad_commands, headers=random_headers, content_type=content_types, token=tokens)
    def registry_commands(body: bytes, headers: list[tuple[bytes, bytes]], content_type: bytes,
                          token: bytes | None) -> None:
        post_command(body, headers, content_type, token)

    @FUZZ
    @given(method=st.sampled_from([b"GET", b"PUT", b"DELETE", b"PATCH", b"HEAD", b"OPTIONS"]),
           path=st.lists(st.text(alphabet="abcxyz019_-.~", min_size=1, max_size=8), max_size=4).map(
               lambda parts: ("/" + "/".join(parts)).encode()),
           headers=random_headers, body=st.binary(max_size=200))
    def registry_paths(method: bytes, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        reply = send(port, method, path, headers, body)
        assert 400 <= reply.status < 500, (method, path, reply)
        if method != b"HEAD":
            assert _is_json_error(reply), reply

    @FUZZ
    @given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()), deep),
           headers=random_headers, content_type=content_types,
           path=st.sampled_from([b"/", b"/", b"/_micro/deliver", b"/_micro/health", b"/_micro/x", b"/api/x"]),
           method=st.sampled_from([b"POST", b"POST", b"PUT", b"DELETE"]))
    def instance_requests(body: bytes, headers: list[tuple[bytes, bytes]], content_type: bytes, path: bytes,
                          method: bytes) -> None:
        reply = send(service_port, method, path, list(headers) + [(b"content-type", content_type)], body)
        assert 400 <= reply.status < 500 and _is_json_error(reply), (method, path, body[:100], reply)

    registry_junk()
    registry_commands()
    registry_paths()
    instance_requests()

    big_head = [(b"x-big", b"a" * 20_000)]
    for target in (port, service_port):
        reply = send(target, b"POST", b"/", big_head, b"{}")
        assert reply.status == 431 and _is_json_error(reply)

    mib = 1024 * 1024
    reply = send(port, b"POST", b"/", [(b"micro-registry-token", TOKEN.encode())],
                 b'{"lookup": "' + b"x" * (2 * mib) + b'"}')
    assert reply.status == 413 and _is_json_error(reply)
    for target in (port, service_port):
        reply = send(target, b"POST", b"/", [], b"[" + b"0," * (9 * mib) + b"0]")
        assert reply.status == 413 and _is_json_error(reply)

    assert registry.running() and service.running()
    assert command(url, {"health": True})[0] == 200
    assert command(url, {"lookup": "all"}) == table_before
    assert {400, 401, 403, 404}.issubset(set(seen))
