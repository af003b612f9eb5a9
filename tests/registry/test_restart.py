"""
A registry that dies and comes back: nodes keep calling with their cached
table, register again, and drop what did not come back (fake clock, no
sockets).
"""

from __future__ import annotations

from typing import Any

from attrs import evolve
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from micro import HttpError
from micro._calls.balancer import RoundRobin
from micro._http.client import HttpClient
from micro._node.registry_client import RegistryClient
from micro._node.table import ServiceTable
from micro._node.table_watcher import TableWatcher
from micro._registry.server import LISTEN_BACKLOG
from micro._registry.stack import RegistryStack
from micro._twistd.registry_tap import with_backlog
from micro.testing import MemoryCluster
from tests._fake_agents import SilentAgent

TTL = 4.0
HOLD = TTL / 2


def _restart(cluster: MemoryCluster, stack: RegistryStack, down: float) -> RegistryStack:
    cluster.stop_registry(stack)
    cluster.advance(down)
    return cluster.registry(ttl=TTL).stack


def _refuse_registrations(stack: RegistryStack, times: int) -> list[Any]:
    """
    Make the registry answer the next C{times} registrations with a 503.
    """
    handlers = stack.commands.register_types["service"]
    seen: list[Any] = []

    def flaky(argument: Any) -> Any:
        seen.append(argument)
        if len(seen) <= times:
            raise HttpError(503, "not now")
        return handlers.register(argument)

    stack.commands.register_types["service"] = evolve(handlers, register=flaky)
    return seen


def test_table_is_back_within_one_hold_after_a_restart() -> None:
    """
    After a restart, every live node registers its instances again, and the
    new registry's table is whole within one hold of its start.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL).stack
    for home in ("http://a.test", "http://b.test"):
        node = cluster.node(home=home)
        cluster.result(node.create_service(lambda p: "x", "svc"))
    before = sorted(stack.state.locations("svc"))
    stack = _restart(cluster, stack, down=5)
    started = cluster.clock.seconds()
    while sorted(stack.state.locations("svc")) != before:
        assert cluster.clock.seconds() - started <= HOLD
        cluster.advance(0.05)


def test_calls_keep_working_while_the_registry_is_down_and_recovering() -> None:
    """
    Calls use the cached table while the registry is down, and keep using
    the previous entries while a restarted registry has not heard from
    their instances yet.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL).stack
    host, caller = cluster.node(home="http://host.test"), cluster.node(home="http://caller.test")
    cluster.result(host.create_service(lambda p: p * 2, "double"))
    assert cluster.result(caller.call("double", 1)) == 2
    cluster.stop_registry(stack)
    for n in range(10):
        cluster.advance(0.5)
        assert cluster.result(caller.call("double", n)) == 2 * n
    stack = cluster.registry(ttl=TTL).stack
    _refuse_registrations(stack, times=1000)
    cluster.advance(HOLD)
    assert stack.state.table() == {}
    assert caller.table.epoch == stack.state.epoch
    assert cluster.result(caller.call("double", 21)) == 42


def test_failed_registration_after_a_restart_is_retried() -> None:
    """
    When registering again fails, the node tries again before each of its
    next watches until it succeeds.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL).stack
    host = cluster.node(home="http://host.test")
    cluster.result(host.create_service(lambda p: "x", "svc"))
    stack = _restart(cluster, stack, down=1)
    attempts = _refuse_registrations(stack, times=2)
    started = cluster.clock.seconds()
    while stack.state.table() != {"svc": ["http://host.test:10000"]}:
        assert cluster.clock.seconds() - started < HOLD + 1
        cluster.advance(0.05)
    assert len(attempts) == 3


def test_instances_that_died_meanwhile_leave_once_recovery_ends() -> None:
    """
    An instance that died while the registry was down stays in tables as a
    stale entry during recovery (calls fail over from it), and is dropped
    within one hold after recovery ends.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL).stack
    alive, doomed = cluster.node(home="http://alive.test"), cluster.node(home="http://doomed.test")
    caller = cluster.node(home="http://caller.test")
    cluster.result(alive.create_service(lambda p: "alive", "svc"))
    cluster.result(doomed.create_service(lambda p: "doomed", "svc"))
    cluster.result(caller.ready())
    cluster.stop_registry(stack)
    cluster.kill("http://doomed.test")
    cluster.advance(1)
    stack = cluster.registry(ttl=TTL).stack
    cluster.advance(HOLD)
    assert stack.state.table() == {"svc": ["http://alive.test:10000"]}
    assert caller.table.locations("svc") == ["http://alive.test:10000", "http://doomed.test:10000"]
    assert [cluster.result(caller.call("svc")) for _ in range(4)] == ["alive"] * 4
    cluster.advance(TTL)  # recovery ends TTL after the start; the next answer says so
    assert caller.table.locations("svc") == ["http://alive.test:10000"]


def test_rejoin_hooks_run_after_a_restart() -> None:
    """
    What a node registered besides instances (routes, subscriptions) is
    registered again through its rejoin hooks.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL).stack
    node = cluster.node(home="http://host.test")
    cluster.result(node.create_service(lambda p: "x", "svc"))
    runs: list[str] = []
    node.on_rejoin(lambda: succeed(runs.append("hook")))  # type: ignore[func-returns-value]
    _restart(cluster, stack, down=1)
    cluster.advance(HOLD)
    assert runs == ["hook"]


def test_watch_retries_back_off_with_jitter() -> None:
    """
    While the registry cannot be reached, a node watches again after 0.1,
    0.25, 0.5, then every 1 s, each stretched by up to half at random so
    that thousands of nodes do not all come back in the same instant.
    """
    url = "http://registry.test:9999"
    for draw, stretch in ((0.0, 1.0), (1.0, 1.5)):
        clock = Clock()
        agent = SilentAgent(clock=clock, refuse_after={url.encode(): 0})
        watcher = TableWatcher(RegistryClient(HttpClient(clock, agent), url), "n1", ServiceTable(),
                               RoundRobin(clock), clock, lambda: succeed(None), lambda: draw)
        watcher.start()
        clock.pump([0.01] * 700)
        gaps = [b - a for a, b in zip(agent.times, agent.times[1:])]
        expected = [d * stretch for d in (0.1, 0.25, 0.5, 1.0, 1.0)]
        assert all(abs(gap - want) <= 0.025 for gap, want in zip(gaps, expected)), (gaps, expected)
        Deferred.fromCoroutine(watcher.stop())


def test_registry_listens_with_a_deep_backlog() -> None:
    """
    A TCP endpoint for the registry gets a listen backlog deep enough for
    thousands of nodes reconnecting at once, unless it names its own.
    """
    assert with_backlog("tcp:9999:interface=127.0.0.1") == f"tcp:9999:interface=127.0.0.1:backlog={LISTEN_BACKLOG}"
    assert with_backlog("tcp:9999:backlog=10") == "tcp:9999:backlog=10"
    assert with_backlog("unix:/tmp/registry.sock") == "unix:/tmp/registry.sock"
    assert LISTEN_BACKLOG >= 1024
