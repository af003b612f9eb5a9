"""
Failover: a call whose instance is gone goes to another one, the gone one
is suspected until the registry says what became of it, and a call that may
have run is not sent twice unless asked (fake clock, no sockets).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from micro import HttpError
from micro._calls.balancer import RoundRobin
from micro._registry.stack import RegistryStack
from micro.testing import MemoryCluster
from tests._helpers import failed

A, B, C = "http://a.test:10000", "http://b.test:10000", "http://c.test:10000"


def _three(cluster: MemoryCluster, fn: Any = None) -> tuple[RegistryStack, list[Any], Any, list[str]]:
    """
    A registry, instances of C{svc} on hosts a, b, c, and a caller; the list
    records which instance ran each call.
    """
    stack = cluster.registry(ttl=100).stack
    ran: list[str] = []
    nodes = []
    for tag in "abc":
        node = cluster.node(home=f"http://{tag}.test")

        def handler(payload: Any, tag: str = tag) -> Any:
            ran.append(tag)
            return fn(payload) if fn else tag

        cluster.result(node.create_service(handler, "svc"))
        nodes.append(node)
    caller = cluster.node(home="http://caller.test")
    cluster.result(caller.ready())
    return stack, nodes, caller, ran


def test_refused_connection_fails_over_and_the_instance_is_avoided() -> None:
    """
    An instance whose port is closed (but still listed) costs no failed
    call: the call goes to the next instance, and later calls skip the
    suspect until the registry removes it.
    """
    cluster = MemoryCluster()
    stack, _, caller, ran = _three(cluster)
    cluster.network.unlisten(("a.test", 10000))
    assert [cluster.result(caller.call("svc")) for _ in range(6)] == ["b", "c", "b", "c", "b", "c"]
    assert ran == ["b", "c", "b", "c", "b", "c"]
    assert caller.table.locations("svc") == [A, B, C]
    attempts = [host for host, _, _, _, origin in cluster.clock.tcpClients
                if host == "a.test" and origin[0].startswith("caller.test")]
    assert len(attempts) == 1


def test_suspect_is_cleared_when_the_registry_speaks_of_it() -> None:
    """
    The registry's word settles a suspect: once it removes and re-adds the
    instance, calls reach it again without waiting out the suspicion.
    """
    cluster = MemoryCluster()
    stack, nodes, caller, ran = _three(cluster)
    site = cluster._server_at(A)
    assert site is not None
    cluster.network.unlisten(("a.test", 10000))
    cluster.result(caller.call("svc"))
    cluster.network.listen(A, site)
    stack.state.unregister("svc", A)
    stack.state.register("svc", A, nodes[0].id)
    cluster.settle()
    assert sorted(cluster.result(caller.call("svc")) for _ in range(3)) == ["a", "b", "c"]


def test_suspicion_ends_after_its_time() -> None:
    """
    A suspect that the registry never mentions is tried again after
    suspect_for seconds, and skipped until then.
    """
    clock = Clock()
    balancer = RoundRobin(clock, suspect_for=5)
    balancer.suspect(A)
    assert [balancer.pick("svc", [A, B]) for _ in range(2)] == [B, B]
    clock.advance(5)
    assert [balancer.pick("svc", [A, B]) for _ in range(2)] == [A, B]


def test_all_suspects_still_get_calls() -> None:
    """
    When every instance is suspect, calls still go to them (in turn)
    rather than failing without trying.
    """
    balancer = RoundRobin(Clock())
    balancer.suspect(A)
    balancer.suspect(B)
    assert balancer.pick("svc", [A, B]) in (A, B)
    balancer.confirmed([A])
    assert [balancer.pick("svc", [A, B]) for _ in range(2)] == [A, A]


def test_every_instance_unreachable_is_a_503_that_says_so() -> None:
    """
    With no instance reachable the call fails with a 503 naming the
    service, the last instance and how many were tried.
    """
    cluster = MemoryCluster()
    _, _, caller, _ = _three(cluster)
    for host in "abc":
        cluster.network.unlisten((f"{host}.test", 10000))
    error = failed(cluster.run(caller.call("svc")))
    assert isinstance(error, HttpError) and error.status == 503
    assert error.message.startswith("call to 'svc' failed: http://")
    assert "is unreachable" in error.message and "(tried 3 instances)" in error.message


def _held(cluster: MemoryCluster) -> tuple[Any, list[str], list[Deferred[Any]]]:
    held: list[Deferred[Any]] = []

    def hold(payload: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        held.append(d)
        return d

    _, _, caller, ran = _three(cluster, hold)
    return caller, ran, held


def test_call_dropped_by_a_dying_instance_is_a_502_and_not_resent() -> None:
    """
    A call whose instance died while running it fails with a 502 naming the
    service and instance, and is not run again elsewhere.
    """
    cluster = MemoryCluster()
    caller, ran, held = _held(cluster)
    d = caller.call("svc")
    cluster.settle()
    cluster.kill("http://a.test")
    cluster.settle()
    error = failed(d)
    assert isinstance(error, HttpError) and error.status == 502
    assert error.message.startswith(f"call to 'svc' failed: {A} dropped the request (")
    assert ran == ["a"]


def test_call_reset_unread_by_a_dead_process_fails_over() -> None:
    """
    A call written to an instance that died before reading it (the peer
    resets the connection) cannot have run: it goes to the next instance
    and succeeds, and the dead instance is suspected.
    """
    cluster = MemoryCluster()
    _, _, caller, ran = _three(cluster)
    assert cluster.result(caller.call("svc")) == "a"
    assert cluster.result(caller.call("svc")) == "b"
    assert cluster.result(caller.call("svc")) == "c"
    d = caller.call("svc")  # written on the pooled connection to a, not yet read
    cluster.kill("http://a.test")
    assert cluster.result(d) == "b"
    assert ran == ["a", "b", "c", "b"]
    assert [cluster.result(caller.call("svc")) for _ in range(2)] == ["c", "b"]


def test_retries_resend_a_dropped_call_when_asked() -> None:
    """
    With retries=1 a call dropped by a dying instance runs again on the
    next instance and succeeds.
    """
    cluster = MemoryCluster()
    caller, ran, held = _held(cluster)
    d = caller.call("svc", retries=1)
    cluster.settle()
    cluster.kill("http://a.test")
    cluster.settle()
    assert ran == ["a", "b"]
    held[1].callback("from b")
    assert cluster.result(d) == "from b"


def test_call_to_a_port_taken_by_another_service_goes_elsewhere() -> None:
    """
    A caller whose table still lists a location now held by an instance of
    another service gets a refusal (nothing runs there) and fails over.
    """
    cluster = MemoryCluster()
    stack, _, caller, ran = _three(cluster)
    other = cluster.node(home="http://d.test")

    def other_service(payload: Any) -> str:
        ran.append("other")
        return "wrong"

    cluster.result(other.create_service(other_service, "other"))
    # As if left over from before a registry restart:
    caller.table.apply(caller.table.version, [("+", "svc", "http://d.test:10000")])
    answers = [cluster.result(caller.call("svc")) for _ in range(4)]
    assert "wrong" not in answers and "other" not in ran
    assert sorted(answers) == ["a", "a", "b", "c"]
