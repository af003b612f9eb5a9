"""
Shared fixtures.  The global reactor is imported inside fixtures only, so
that pytest-twisted can install the reactor it was asked for.
"""

from __future__ import annotations

from typing import Iterator

import pytest


@pytest.fixture(autouse=True)
def _clean_global_reactor() -> Iterator[None]:
    """
    Fail any test that leaves timed calls on the global reactor.
    """
    from twisted.internet import reactor

    before = set(reactor.getDelayedCalls())
    yield
    leaked = [c for c in reactor.getDelayedCalls() if c not in before and c.active()]
    described = [(getattr(c.func, "__qualname__", c.func), c.args) for c in leaked]
    for call in leaked:
        call.cancel()
    assert not leaked, f"test left delayed calls on the reactor: {described!r}"


@pytest.fixture(autouse=True)
def _no_micro_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Tests set the micro environment they need; the shell's does not leak in.
    """
    for name in ("MICRO_REGISTRY_URL", "MICRO_SERVICE_URL", "MICRO_REGISTRY_TOKEN", "MICRO_ENV"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def processes(tmp_path):  # type: ignore[no-untyped-def]
    """
    Start real processes in a temporary directory; all are stopped after
    the test, by PID.
    """
    from tests._processes import Processes

    group = Processes(tmp_path)
    yield group
    group.stop_all()


@pytest.fixture
def cluster():  # type: ignore[no-untyped-def]
    """
    An in-memory cluster (micro.testing) with its registry running.
    """
    from micro.testing import MemoryCluster

    cluster = MemoryCluster()
    cluster.registry()
    return cluster


@pytest.fixture
def redis_server(tmp_path):  # type: ignore[no-untyped-def]
    """
    A redis-server of the test's own, on a free port, without persistence;
    stopped by its PID after the test.
    """
    from tests._redis import REDIS_SERVER, RedisServer

    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed on this machine (.ci/run installs it)")
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()
