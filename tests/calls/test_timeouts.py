"""
Timeouts: every outbound request is bounded, a timeout cancels the request
(and the handler it was running) and is a 504 that says what timed out
(fake clock, no sockets).
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs

from micro import HttpError
from micro._calls.balancer import RoundRobin
from micro._calls.caller import Caller
from micro._http.client import HttpClient
from micro._http.failures import RequestTimedOut
from micro._node.registry_client import COMMAND_TIMEOUT, WATCH_TIMEOUT, RegistryClient
from micro._node.table_watcher import WATCH_GRACE
from micro.testing import MemoryCluster
from tests._fake_agents import SilentAgent
from tests._helpers import failed, waiting

A, B = b"http://a.test:1", b"http://b.test:1"


def _caller(clock: Clock, agent: SilentAgent) -> Caller:
    return Caller(HttpClient(clock, agent), RoundRobin(clock), lambda service: [A.decode(), B.decode()])


@pytest.mark.parametrize("sent", [False, True], ids=["connecting", "sent"])
def test_timeout_cancels_the_request_at_any_stage(sent: bool) -> None:
    """
    A request still connecting or already sent is cancelled when its timeout
    runs out, and fails with RequestTimedOut, not before.
    """
    clock, agent = Clock(), SilentAgent(sent=sent)
    d = HttpClient(clock, agent).request(b"POST", A, b"{}", timeout=2)
    clock.advance(1.99)
    assert waiting(d) and agent.cancelled == []
    clock.advance(0.01)
    error = failed(d)
    assert isinstance(error, RequestTimedOut) and "2s" in str(error)
    assert agent.cancelled == [A]


@pytest.mark.parametrize("sent", [False, True], ids=["connecting", "sent"])
def test_call_timeout_is_a_504_naming_service_location_and_time(sent: bool) -> None:
    """
    A call that times out fails with 504 whose message names the service,
    the instance and the timeout, and is not sent to another instance.
    """
    clock, agent = Clock(), SilentAgent(sent=sent)
    d = _caller(clock, agent).send("svc", A.decode(), b"{}", b"application/json", timeout=2)
    clock.advance(2)
    error = failed(d)
    assert isinstance(error, HttpError) and error.status == 504
    assert error.message == "call to 'svc' failed: no reply from http://a.test:1 within 2s"
    assert agent.requests == [A]


def test_instance_that_let_a_call_time_out_is_avoided_by_the_next_calls() -> None:
    """
    A timeout is the only sign a vanished host gives: the instance that
    let a call run out of time becomes a suspect, and new calls go to the
    other instance at once instead of waiting out their own timeouts there.
    """
    clock, agent = Clock(), SilentAgent()
    caller = _caller(clock, agent)
    d = caller.send("svc", A.decode(), b"{}", b"application/json", timeout=2)
    clock.advance(2)
    assert failed(d).status == 504  # type: ignore[attr-defined]
    assert [caller.pick("svc") for _ in range(3)] == [B.decode()] * 3


def test_timeout_bounds_the_whole_call_across_failover() -> None:
    """
    When the first instance fails after part of the timeout, the next one
    gets only what is left: the call fails at its timeout, not later.
    """
    clock = Clock()
    agent = SilentAgent(clock=clock, refuse_after={A: 1.5})
    d = _caller(clock, agent).send("svc", A.decode(), b"{}", b"application/json", timeout=2)
    clock.advance(1.5)
    assert agent.requests == [A, B]
    clock.advance(0.49)
    assert waiting(d)
    clock.advance(0.01)
    error = failed(d)
    assert isinstance(error, HttpError) and error.status == 504
    assert "(tried 2 instances)" in error.message


def test_cancelling_a_call_tries_no_other_instance() -> None:
    """
    A call cancelled by its caller (whose own caller went away) cancels its
    request and is not sent anywhere else.
    """
    clock, agent = Clock(), SilentAgent()
    d = _caller(clock, agent).send("svc", A.decode(), b"{}", b"application/json", timeout=2)
    d.cancel()
    assert agent.requests == [A] and agent.cancelled == [A]
    assert not isinstance(failed(d), HttpError)
    assert clock.getDelayedCalls() == []


def test_every_registry_command_has_a_timeout() -> None:
    """
    No command to the registry waits forever: each one fails with a 504
    when its bound runs out (settle: its own timeout plus the command
    timeout; watch: longer than any hold).
    """
    clock, agent = Clock(), SilentAgent()
    client = RegistryClient(HttpClient(clock, agent), "http://registry.test:9999")
    commands: dict[str, tuple[Deferred[Any], float]] = {
        "health": (client.command("health", True), COMMAND_TIMEOUT),
        "setup": (client.setup("svc", "http://h"), COMMAND_TIMEOUT),
        "register": (client.register("svc", "http://h:1", "n"), COMMAND_TIMEOUT),
        "unregister": (client.unregister("svc", "http://h:1"), COMMAND_TIMEOUT),
        "lookup": (client.lookup("svc"), COMMAND_TIMEOUT),
        "settle": (client.settle(3, 2.0), 2.0 + COMMAND_TIMEOUT),
        "watch": (client.watch("n", "", -1), WATCH_TIMEOUT),
    }
    for bound in sorted({bound for _, bound in commands.values()}):
        clock.advance(bound - 0.01 - clock.seconds())
        assert all(waiting(d) for d, _ in commands.values() if _ >= bound)
        clock.advance(0.01)
        for name, (d, command_bound) in commands.items():
            if command_bound == bound:
                error = failed(d)
                assert isinstance(error, HttpError) and error.status == 504, name
                assert f"registry command {name}" in error.message
    assert clock.getDelayedCalls() == []


def _hanging_service(cluster: MemoryCluster, home: str = "http://host.test") -> tuple[Any, list[str]]:
    """
    A node hosting service C{slow}, whose calls never finish unless
    cancelled; the list says "started", then "cancelled", for each call.
    """
    events: list[str] = []

    def hang(payload: Any) -> Deferred[Any]:
        events.append("started")
        return Deferred(lambda d: events.append("cancelled"))

    node = cluster.node(home=home)
    instance = cluster.result(node.create_service(hang, "slow"))
    return (node, instance), events


def test_timeout_cancels_the_running_handler_of_a_remote_call() -> None:
    """
    A remote call that times out is a 504 at its timeout; its connection is
    dropped, so the instance cancels the handler and counts it finished.
    """
    cluster = MemoryCluster()
    cluster.registry()
    (_, instance), started = _hanging_service(cluster)
    caller = cluster.node(home="http://caller.test")
    cluster.result(caller.ready())
    d = caller.call("slow", timeout=3)
    cluster.advance(2.9)
    assert waiting(d) and instance.in_flight == 1
    cluster.advance(0.1)
    error = failed(d)
    assert isinstance(error, HttpError) and error.status == 504
    assert "'slow'" in error.message and "within 3s" in error.message
    assert started == ["started", "cancelled"]
    assert instance.in_flight == 0


def test_in_process_call_times_out_like_a_remote_one() -> None:
    """
    A call to an instance in the same process is bounded the same way: a
    504 at the timeout, and the handler is cancelled.
    """
    cluster = MemoryCluster()
    cluster.registry()
    (node, instance), started = _hanging_service(cluster)
    d = node.call("slow", timeout=3)
    cluster.advance(3)
    error = failed(d)
    assert isinstance(error, HttpError) and error.status == 504
    assert started == ["started", "cancelled"]
    assert instance.in_flight == 0


def test_call_to_a_hung_process_times_out() -> None:
    """
    A call to a process that hangs (connection open, no answer) fails with
    a 504 at its timeout.
    """
    cluster = MemoryCluster()
    cluster.registry(ttl=100)
    host, caller = cluster.node(home="http://host.test"), cluster.node(home="http://caller.test")
    cluster.result(host.create_service(lambda p: "x", "svc"))
    cluster.result(caller.ready())
    cluster.freeze("http://host.test")
    d = caller.call("svc", timeout=5)
    cluster.advance(4.9)
    assert waiting(d)
    cluster.advance(0.1)
    error = failed(d)
    assert isinstance(error, HttpError) and error.status == 504


def _node_of_a_frozen_registry() -> tuple[MemoryCluster, Any]:
    """
    A node watching a registry that then hangs.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    cluster.result(cluster.node().ready())
    cluster.advance(0.01)
    cluster.freeze("http://registry.test")
    return cluster, stack


def test_watch_gives_up_on_a_hung_registry_after_hold_plus_grace() -> None:
    """
    A node whose registry hangs gives up on its watch after the hold the
    registry announced plus the grace, and watches again.
    """
    cluster, stack = _node_of_a_frozen_registry()
    limit = stack.hub.hold + WATCH_GRACE
    with capturedLogs() as events:
        cluster.advance(limit - 0.02)
        assert not [e for e in events if "watching the registry failed" in e.get("log_format", "")]
        cluster.advance(0.02)
    failures = [e for e in events if e.get("what") == "watching the registry"]
    assert len(failures) == 1 and "504" in str(failures[0]["error"])


def test_ready_fails_with_a_503_when_no_registry_answers() -> None:
    """
    Waiting for the first table is bounded too: a 503 that says where the
    registry was expected.
    """
    cluster = MemoryCluster()
    node = cluster.node()
    d = node.ready(timeout=3)
    cluster.advance(3)
    error = failed(d)
    assert isinstance(error, HttpError) and error.status == 503
    assert "http://registry.test:9999" in error.message


def test_one_failed_watch_is_info_and_a_failed_retry_a_warning() -> None:
    """
    A registry that is gone for one watch (restarting, or stopped just
    before this node) is not worth a warning; one that stays gone is.
    """
    cluster, stack = _node_of_a_frozen_registry()
    with capturedLogs() as events:
        cluster.advance(2 * (stack.hub.hold + WATCH_GRACE) + 1)
    failures = [e for e in events if e.get("what") == "watching the registry"]
    assert [e["log_level"] for e in failures[:2]] == [LogLevel.info, LogLevel.warn]
