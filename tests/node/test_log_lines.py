"""
micro's log lines say what happened, in words that fit: no "registered 0
instances again" on a first start, counts in the right number, listening
logged under micro rather than an unrelated connection, and a script's
registry that stops lets its services unregister first.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import capturedLogs
from twisted.python import context, log

from micro._kernel.errors import counted
from micro._node.listening import tcp_listener
from micro._twistd import registry_tap
from micro.testing import MemoryCluster
from tests._helpers import fired


def _formatted(events: list[Any]) -> list[str]:
    from twisted.logger import formatEvent

    return [formatEvent(e) for e in events]


def test_a_first_start_logs_no_registering_again() -> None:
    """
    A node's first watch finds it unknown; with nothing to register that is
    no news. After a registry restart the count is in the right number.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    with capturedLogs() as events:
        node = cluster.node()
        cluster.result(node.create_service(lambda p: p, "svc"))
    assert not [line for line in _formatted(events) if "again" in line]
    cluster.stop_registry(stack)
    cluster.registry()
    with capturedLogs() as events:
        cluster.advance(5)
    assert "registered 1 instance again" in _formatted(events)


def test_counts_agree_with_their_nouns() -> None:
    """
    One call, two calls.
    """
    assert [counted(1, "running call"), counted(2, "call"), counted(0, "instance")] == [
        "1 running call", "2 calls", "0 instances"]


def test_a_drain_says_how_many_calls_it_waits_for() -> None:
    """
    "waiting for 1 running call", not "1 running calls".
    """
    cluster = MemoryCluster()
    cluster.registry()
    node = cluster.node()
    held: Deferred[str] = Deferred()
    instance = cluster.result(node.create_service(lambda p: held, "slow"))
    call = node.call("slow")
    cluster.settle()
    with capturedLogs() as events:
        stopping = instance.terminate()
        cluster.advance(3)
    assert "slow: waiting for 1 running call" in _formatted(events)
    held.callback("done")
    cluster.settle()
    assert fired(call) == "done" and fired(stopping) is None


class _ListeningReactor:
    """
    Records the log system in effect when a port starts listening.
    """

    def __init__(self) -> None:
        self.systems: list[str] = []

    def listenTCP(self, port: int, site: Any, interface: str = "") -> object:
        self.systems.append(context.get(log.ILogContext)["system"])
        return object()


def test_listening_is_logged_under_micro() -> None:
    """
    Twisted's "MicroSite starting on <port>" line is logged as micro's,
    even when it happens inside an HTTP client's callback.
    """
    reactor = _ListeningReactor()
    listen = tcp_listener(reactor)
    log.callWithContext({"system": "HTTP11ClientProtocol,client"}, listen, "http://127.0.0.1:10002", None)
    assert reactor.systems == ["micro"]


def test_help_has_no_doubled_full_stops() -> None:
    """
    twistd joins an option's help and its value's help with ". ": no "..".
    """
    assert ".." not in str(registry_tap.Options()).replace("...", "")
