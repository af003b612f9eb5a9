"""
Types and errors cross a call the same way over TCP and in-process.

Each test runs once with the services in other nodes (real sockets on
127.0.0.1, two hops where there are two calls) and once with everything in
the calling node (in-process dispatch), and expects the same outcome.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred

from micro import HttpError, Node

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
VALUES = [None, 0, False, True, "", "42", 42, -1.5, [], {}, [0, "", None, False],
          {"nested": {"list": [{"deep": ["ü", "€", "𝄞", "日本"]}]}}, "x" * MIB, b"", b"\x00\xff" * (MIB // 2)]


def echo(payload: Any) -> Any:
    return payload


def kind(payload: Any) -> str:
    return type(payload).__name__


def teapot(payload: Any) -> None:
    raise HttpError(418, "I'm a teapot")


async def relay(payload: Any, ctx: Any) -> Any:
    return await ctx.call(payload["to"], payload.get("payload"))


def boom(payload: Any) -> None:
    raise ValueError("kaboom")


def unsendable(payload: Any) -> Any:
    return {"when": object()}


def silent(payload: Any) -> Deferred[None]:
    return Deferred()


SERVICES: dict[str, Callable[..., Any]] = {
    "echo": echo, "kind": kind, "teapot": teapot, "relay": relay, "boom": boom,
    "unsendable": unsendable, "silent": silent,
}


async def _caller(live: Any, mode: str, **settings: Any) -> Node:
    """
    A node to call from: in-process mode hosts every service itself;
    remote mode puts relay on one node and the rest on another, so that a
    relayed call makes two TCP hops.
    """
    caller = live.node(**settings)
    if mode == "in-process":
        hosts = {name: caller for name in SERVICES}
    else:
        front, back = live.node(**settings), live.node(**settings)
        hosts = {name: (front if name == "relay" else back) for name in SERVICES}
    for name, fn in SERVICES.items():
        await hosts[name].create_service(fn, name)
    await caller.ready()
    return caller


async def _outcome(d: Deferred[Any]) -> Any:
    try:
        return ("ok", await d)
    except HttpError as e:
        return ("error", e.status, e.message, e.traceback is not None)


MODES = ["remote", "in-process"]


@pytest.mark.parametrize("mode", MODES)
@pytest_twisted.ensureDeferred
async def test_every_type_survives_a_call(live: Any, mode: str) -> None:
    """
    Each value comes back equal and of its type, and reaches the service as
    that type too (1 MiB strings and bytes included).
    """
    caller = await _caller(live, mode)
    for value in VALUES:
        back = await caller.call("echo", value)
        assert back == value and type(back) is type(value), (mode, repr(value)[:40])
        assert await caller.call("kind", value) == type(value).__name__


@pytest.mark.parametrize("mode", MODES)
@pytest_twisted.ensureDeferred
async def test_errors_keep_status_and_message(live: Any, mode: str) -> None:
    """
    An HttpError two hops away, an unknown service, a crash, an unsendable
    result and a timeout each reach the caller as the same HttpError.
    """
    caller = await _caller(live, mode)
    assert await _outcome(caller.call("teapot")) == ("error", 418, "I'm a teapot", False)
    assert await _outcome(caller.call("relay", {"to": "teapot"})) == ("error", 418, "I'm a teapot", False)
    assert await _outcome(caller.call("relay", {"to": "nobody"})) == (
        "error", 404, "no service named 'nobody' is registered", False)
    assert await _outcome(caller.call("nobody")) == ("error", 404, "no service named 'nobody' is registered", False)
    assert await _outcome(caller.call("boom")) == ("error", 500, "service 'boom' failed: ValueError: kaboom", False)
    outcome = await _outcome(caller.call("unsendable"))
    assert outcome[:2] == ("error", 500) and "returned a value that cannot be sent" in outcome[2]
    outcome = await _outcome(caller.call("silent", timeout=0.3))
    assert outcome[:2] == ("error", 504) and "no reply from" in outcome[2] and "within 0.3s" in outcome[2]


@pytest.mark.parametrize("mode", MODES)
@pytest_twisted.ensureDeferred
async def test_payloads_over_the_limit_get_the_same_413(live: Any, mode: str) -> None:
    """
    The hosting node's payload limit counts the encoded body, in-process too.
    """
    caller = await _caller(live, mode)
    for node in live.nodes:
        node.max_payload_bytes = 1000
    too_large = ("error", 413, "request body larger than the limit of 1000 bytes", False)
    assert await _outcome(caller.call("echo", "x" * 998)) == ("ok", "x" * 998)  # 1000 bytes with its quotes
    assert await _outcome(caller.call("echo", "x" * 999)) == too_large
    assert await _outcome(caller.call("echo", "é" * 200)) == too_large  # 1202 bytes as \u00e9 escapes
    assert await _outcome(caller.call("echo", b"\0" * 1000)) == ("ok", b"\0" * 1000)
    assert await _outcome(caller.call("echo", b"\0" * 1001)) == too_large


@pytest.mark.parametrize("mode", MODES)
@pytest_twisted.ensureDeferred
async def test_tracebacks_only_in_development_and_nothing_in_production(live: Any, mode: str) -> None:
    """
    With MICRO_ENV=development the caller gets the traceback; in production
    it gets a generic message, with no trace of the exception.
    """
    developer = await _caller(live, mode, environment="development")
    error = await _outcome(developer.call("boom"))
    assert error == ("error", 500, "service 'boom' failed: ValueError: kaboom", True)
    try:
        await developer.call("relay", {"to": "boom"})
    except HttpError as e:
        assert e.traceback is not None and "ValueError: kaboom" in e.traceback


@pytest.mark.parametrize("mode", MODES)
@pytest_twisted.ensureDeferred
async def test_production_hides_exception_text(live: Any, mode: str) -> None:
    """
    In production a crash is a 500 with a generic message and no traceback.
    """
    caller = await _caller(live, mode, environment="production")
    assert await _outcome(caller.call("boom")) == ("error", 500, "internal error in service 'boom'", False)


@pytest.mark.parametrize("mode", MODES)
@pytest_twisted.ensureDeferred
async def test_unencodable_payload_is_a_type_error_before_sending(live: Any, mode: str) -> None:
    """
    A payload JSON cannot carry fails at the caller, naming the service.
    """
    caller = await _caller(live, mode)
    with pytest.raises(TypeError, match="payload for 'echo' is not JSON-serializable"):
        await caller.call("echo", {"when": object()})
