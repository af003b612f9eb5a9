"""
A session's reach: several registries tried in order, and clear errors when none answers.
"""

from __future__ import annotations

import io

import pytest
from twisted.internet.defer import Deferred

from micro import HttpError
from micro._cli.output import Output
from micro._cli.session import RegistryUnreachable, Session
from micro.testing import REGISTRY_URL, MemoryCluster


def _session(cluster: MemoryCluster, *registries: str) -> Session:
    out = Output(io.BytesIO(), io.StringIO())
    return Session(list(registries), cluster._http("cli.test"), cluster.clock, out)


def test_commands_go_to_the_first_registry_that_can_be_reached(cluster: MemoryCluster) -> None:
    """
    The first registry is down: the command goes to the next, and later
    commands start from the one that answered.
    """
    session = _session(cluster, "http://down.test:1", REGISTRY_URL)
    assert cluster.result(session.command("health"))["status"] == "ready"
    assert session.registry == REGISTRY_URL
    assert cluster.result(session.command("lookup", "all")) == {}


def test_none_reachable_is_one_503_naming_each(cluster: MemoryCluster) -> None:
    """
    Every registry down: a 503 that names each and says why.
    """
    session = _session(cluster, "http://down.test:1", "http://gone.test:2")
    with pytest.raises(RegistryUnreachable) as caught:
        cluster.result(session.command("health"))
    assert caught.value.status == 503
    assert caught.value.message == ("cannot reach the registry at http://down.test:1 (connection refused), "
                                    "http://gone.test:2 (connection refused); is it running? "
                                    "(--registry or MICRO_REGISTRY_URL)")


def test_a_registry_that_hangs_is_a_504_and_not_retried_elsewhere(cluster: MemoryCluster) -> None:
    """
    A registry that took the command but does not answer: 504 after the
    timeout; the command is not sent to the next (it may have run), which
    would have failed as unreachable.
    """
    session = _session(cluster, REGISTRY_URL, "http://elsewhere.test:9")
    cluster.freeze("http://registry.test")
    d = Deferred.fromCoroutine(session.command("health", timeout=3))
    cluster.advance(3)
    with pytest.raises(HttpError) as caught:
        cluster.result(d)
    assert caught.value.status == 504
    assert caught.value.message == "the registry at http://registry.test:9999 did not answer health within 3s"


def test_a_registry_error_comes_back_as_it_is(cluster: MemoryCluster) -> None:
    """
    A 4xx from the registry is raised with its status and message, not tried elsewhere.
    """
    session = _session(cluster, REGISTRY_URL)
    with pytest.raises(HttpError) as caught:
        cluster.result(session.command("lookup", "ghost"))
    assert (caught.value.status, caught.value.message) == (404, "no service named 'ghost' is registered")


def test_instance_health_says_unreachable(cluster: MemoryCluster) -> None:
    """
    An instance that does not answer at /_micro/health is reported unreachable.
    """
    session = _session(cluster, REGISTRY_URL)
    health = cluster.result(session.instance_health("http://nowhere.test:5"))
    assert health["status"] == "unreachable" and "refused" in health["error"]
