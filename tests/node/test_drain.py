"""
Graceful drain: an instance that stops unregisters, waits until callers
have dropped it, stops listening, lets running calls finish, then closes;
every wait has a deadline (fake clock, no sockets).
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define
from twisted.internet.defer import Deferred

from micro import HttpError
from micro.testing import MemoryCluster
from tests._helpers import failed, waiting

A = "http://a.test:10000"


def _held_instance(cluster: MemoryCluster, home: str = "http://a.test") -> tuple[Any, Any, list[Deferred[Any]]]:
    held: list[Deferred[Any]] = []

    def hold(payload: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        held.append(d)
        return d

    node = cluster.node(home=home)
    return node, cluster.result(node.create_service(hold, "svc")), held


@define
class _WatchedPort:
    """
    A listening port that calls C{seen} when it is told to stop.
    """

    port: Any
    seen: Callable[[], None]

    def stopListening(self) -> Any:
        self.seen()
        return self.port.stopListening()


def test_drain_order_unregister_settle_stop_listening_finish_close() -> None:
    """
    Terminating an instance with a call in flight unregisters it, waits
    until the caller's table has dropped it, then stops listening, and
    finishes only after the running call has been answered.
    """
    cluster = MemoryCluster()
    stack = cluster.registry().stack
    _, instance, held = _held_instance(cluster)
    caller = cluster.node(home="http://caller.test")
    call = caller.call("svc")
    cluster.settle()
    seen_at_stop: list[list[str]] = []
    instance.port = _WatchedPort(instance.port, lambda: seen_at_stop.append(list(caller.table.locations("svc"))))

    stopped = instance.terminate()
    cluster.settle()
    assert stack.state.table() == {}
    assert seen_at_stop == [[]]
    assert waiting(stopped) and waiting(call)
    held[0].callback("finished")
    cluster.settle()
    assert cluster.result(call) == "finished"
    assert cluster.result(stopped) is None
    assert instance.in_flight == 0


def test_drain_gives_up_on_running_calls_at_its_deadline() -> None:
    """
    A call still running at the drain deadline does not hold the instance
    up: terminate finishes at the deadline and closes the connection.
    """
    cluster = MemoryCluster()
    cluster.registry()
    _, instance, held = _held_instance(cluster)
    caller = cluster.node(home="http://caller.test")
    call = caller.call("svc", timeout=100)
    cluster.settle()
    stopped = instance.terminate(drain_timeout=3, settle_timeout=1)
    cluster.advance(2.9)
    assert waiting(stopped)
    cluster.advance(0.1)
    assert cluster.result(stopped) is None
    error = failed(call)
    assert isinstance(error, HttpError) and error.status == 502


def test_settle_deadline_when_a_caller_hangs() -> None:
    """
    A hung caller that never acknowledges the change holds the instance's
    departure for the settle timeout only.
    """
    cluster = MemoryCluster()
    cluster.registry(ttl=100)
    _, instance, _ = _held_instance(cluster)
    caller = cluster.node(home="http://caller.test")
    cluster.result(caller.ready())
    cluster.advance(0.1)
    cluster.freeze("http://caller.test")
    stopped = instance.terminate(drain_timeout=3, settle_timeout=2)
    cluster.advance(1.9)
    assert waiting(stopped) and instance.port is not None
    cluster.advance(0.1)
    assert cluster.result(stopped) is None


def test_calls_keep_succeeding_while_an_instance_drains() -> None:
    """
    A caller calling all along while one of two instances terminates sees
    no failure, and its calls end up on the other instance only.
    """
    cluster = MemoryCluster()
    cluster.registry()
    a, b = cluster.node(home="http://a.test"), cluster.node(home="http://b.test")
    leaving = cluster.result(a.create_service(lambda p: "a", "svc"))
    cluster.result(b.create_service(lambda p: "b", "svc"))
    caller = cluster.node(home="http://caller.test")
    cluster.result(caller.ready())
    stopped = leaving.terminate()
    answers = []
    for _ in range(20):
        answers.append(cluster.result(caller.call("svc")))
        cluster.advance(0.01)
    assert cluster.result(stopped) is None
    assert answers[-10:] == ["b"] * 10
