"""
A registry that dies and comes back: nodes keep calling with their cached
table, register again, and drop what did not come back (fake clock, no
sockets).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import succeed

from micro import HttpError
from micro._registry_server import RegistryStack
from micro.testing import MemoryCluster

TTL = 4.0
HOLD = TTL / 2


def _restart(cluster: MemoryCluster, stack: RegistryStack, down: float) -> RegistryStack:
    cluster.stop_registry(stack)
    cluster.advance(down)
    return cluster.registry(ttl=TTL)


def _refuse_registrations(stack: RegistryStack, times: int) -> list[Any]:
    """
    Make the registry answer the next C{times} registrations with a 503.
    """
    register, unregister = stack.commands.register_types["service"]
    seen: list[Any] = []

    def flaky(argument: Any) -> Any:
        seen.append(argument)
        if len(seen) <= times:
            raise HttpError(503, "not now")
        return register(argument)

    stack.commands.register_types["service"] = (flaky, unregister)
    return seen


def test_table_is_back_within_one_hold_after_a_restart() -> None:
    """
    After a restart, every live node registers its instances again, and the
    new registry's table is whole within one hold of its start.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL)
    for home in ("http://a.test", "http://b.test"):
        node = cluster.node(home=home)
        cluster.result(node.create_service(lambda p: "x", "svc"))
    before = stack.registry.table()
    stack = _restart(cluster, stack, down=5)
    started = cluster.clock.seconds()
    while stack.registry.table() != before:
        assert cluster.clock.seconds() - started <= HOLD
        cluster.advance(0.05)


def test_calls_keep_working_while_the_registry_is_down_and_recovering() -> None:
    """
    Calls use the cached table while the registry is down, and keep using
    the previous entries while a restarted registry has not heard from
    their instances yet.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL)
    host, caller = cluster.node(home="http://host.test"), cluster.node(home="http://caller.test")
    cluster.result(host.create_service(lambda p: p * 2, "double"))
    assert cluster.result(caller.call("double", 1)) == 2
    cluster.stop_registry(stack)
    for n in range(10):
        cluster.advance(0.5)
        assert cluster.result(caller.call("double", n)) == 2 * n
    stack = cluster.registry(ttl=TTL)
    _refuse_registrations(stack, times=3)
    cluster.advance(1.5)
    assert stack.registry.table() == {}
    assert caller.table.epoch == stack.registry.epoch
    assert cluster.result(caller.call("double", 21)) == 42


def test_failed_registration_after_a_restart_is_retried() -> None:
    """
    When registering again fails, the node tries again before each of its
    next watches until it succeeds.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL)
    host = cluster.node(home="http://host.test")
    cluster.result(host.create_service(lambda p: "x", "svc"))
    stack = _restart(cluster, stack, down=1)
    attempts = _refuse_registrations(stack, times=2)
    cluster.advance(HOLD)
    assert len(attempts) == 3
    assert stack.registry.table() == {"svc": ["http://host.test:10000"]}


def test_instances_that_died_meanwhile_leave_once_recovery_ends() -> None:
    """
    An instance that died while the registry was down stays in tables as a
    stale entry during recovery (calls fail over from it), and is dropped
    within one hold after recovery ends.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL)
    alive, doomed = cluster.node(home="http://alive.test"), cluster.node(home="http://doomed.test")
    caller = cluster.node(home="http://caller.test")
    cluster.result(alive.create_service(lambda p: "alive", "svc"))
    cluster.result(doomed.create_service(lambda p: "doomed", "svc"))
    cluster.result(caller.ready())
    cluster.stop_registry(stack)
    cluster.kill("http://doomed.test")
    cluster.advance(1)
    stack = cluster.registry(ttl=TTL)
    cluster.advance(1)
    assert stack.registry.table() == {"svc": ["http://alive.test:10000"]}
    assert caller.table.locations("svc") == ["http://alive.test:10000", "http://doomed.test:10000"]
    assert [cluster.result(caller.call("svc")) for _ in range(4)] == ["alive"] * 4
    cluster.advance(TTL - 1 + HOLD)
    assert caller.table.locations("svc") == ["http://alive.test:10000"]


def test_rejoin_hooks_run_after_a_restart() -> None:
    """
    What a node registered besides instances (routes, subscriptions) is
    registered again through its rejoin hooks.
    """
    cluster = MemoryCluster()
    stack = cluster.registry(ttl=TTL)
    node = cluster.node(home="http://host.test")
    cluster.result(node.create_service(lambda p: "x", "svc"))
    runs: list[str] = []
    node.on_rejoin(lambda: succeed(runs.append("hook")))
    _restart(cluster, stack, down=1)
    cluster.advance(HOLD)
    assert runs == ["hook"]
