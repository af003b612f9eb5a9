"""
An instance's operator endpoints, in memory: /_micro/live and
/_micro/ready through registration, registry loss and drain, and
/_micro/metrics after known traffic (names, labels, counts), open or
behind the token.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.web.http_headers import Headers

from micro._kernel.observer import Observability
from micro._node.instance import ServiceInstance
from micro.testing import MemoryCluster
from tests._metrics import families, samples, value

METRICS = Observability(metrics=True)


def _get(cluster: MemoryCluster, url: str, headers: dict[bytes, list[bytes]] | None = None) -> Any:
    return cluster.result(cluster._http().request(b"GET", url.encode(), headers=Headers(headers or {})))


def _status(cluster: MemoryCluster, instance: ServiceInstance, path: str) -> tuple[int, Any]:
    reply = _get(cluster, instance.location + path)
    return reply.code, json.loads(reply.body)


def test_live_and_ready_through_registry_loss_and_drain(cluster: MemoryCluster) -> None:
    """
    Ready once registered with a table; still ready (and live) while the
    registry is gone, since calls go on from the table; 503 once draining.
    """
    node = cluster.node()
    release: Deferred[None] = Deferred()
    instance = cluster.result(node.create_service(lambda payload: release, "slow"))
    assert _status(cluster, instance, "/_micro/live") == (200, {"status": "live"})
    assert _status(cluster, instance, "/_micro/ready") == (200, {"status": "ready"})

    cluster.stop_registry(cluster.stacks[0])
    cluster.advance(10)
    assert _status(cluster, instance, "/_micro/ready")[0] == 200
    assert _status(cluster, instance, "/_micro/live")[0] == 200

    cluster.registry()
    cluster.advance(3)
    lagging = cluster.node(home="http://lagging.test")
    cluster.result(lagging.ready())
    cluster.freeze("http://lagging.test")  # the drain waits for it to drop the instance
    running = cluster.run(node.call("slow"))
    stopping = cluster.run(instance.terminate())
    assert _status(cluster, instance, "/_micro/ready") == (503, {"status": "not ready",
                                                                  "reason": "draining: leaving the cluster"})
    release.callback("done")
    cluster.advance(3)
    assert cluster.result(running) == "done" and stopping.called
    cluster.thaw("http://lagging.test")


def test_not_ready_before_registration_or_a_table() -> None:
    """
    An instance that is listening but not yet registered, or a node with no
    table yet, answers 503 saying why.
    """
    cluster = MemoryCluster()
    cluster.registry()
    node = cluster.node()
    instance = cluster.result(node.create_service(lambda payload: 1, "one"))
    instance.registered = False
    assert _status(cluster, instance, "/_micro/ready")[1]["reason"] == "not registered yet"
    instance.registered = True
    node.operations.has_table = lambda: False
    assert _status(cluster, instance, "/_micro/ready")[1]["reason"] == "no service table from the registry yet"


def test_metrics_are_off_unless_asked_for(cluster: MemoryCluster) -> None:
    """
    Without metrics on, /_micro/metrics is a 404 saying how to turn them on.
    """
    instance = cluster.result(cluster.node().create_service(lambda payload: 1, "one"))
    code, body = _status(cluster, instance, "/_micro/metrics")
    assert code == 404 and "--metrics" in body["error"]


def test_an_instance_scrape_counts_its_calls(cluster: MemoryCluster) -> None:
    """
    Calls served, by service and status; calls made, by service and
    status; failovers by reason; calls in flight; the process collectors.
    """
    served = cluster.node(home="http://served.test", observability=METRICS)

    def hello(payload: Any) -> str:
        if payload == "bad":
            raise KeyError(payload)
        return "hi"

    first = cluster.result(served.create_service(hello))
    cluster.result(cluster.node(home="http://gone.test").create_service(hello))
    caller = cluster.node(home="http://caller.test", observability=METRICS)
    probe = cluster.result(caller.create_service(lambda payload: 0, "probe"))
    cluster.network.kill("gone.test")  # its calls fail over before the table drops it
    for payload in ["a", "b", "c", "bad"]:
        caller.call("hello", payload).addErrback(lambda _: None)
    cluster.settle()

    page = _get(cluster, first.location + "/_micro/metrics")
    assert page.code == 200 and page.header(b"content-type").startswith(b"text/plain")
    seen = samples(page.body)
    name = "rpc_server_call_duration_seconds_count"
    assert value(seen, name, rpc_method="hello", rpc_response_status_code="200") == 3
    assert value(seen, name, rpc_method="hello", rpc_response_status_code="500") == 1
    assert value(seen, "micro_calls_in_flight", service="hello") == 0
    assert value(seen, "process_cpu_seconds_total") is not None

    callers = samples(_get(cluster, probe.location + "/_micro/metrics").body)
    name = "rpc_client_call_duration_seconds_count"
    assert value(callers, name, rpc_method="hello", rpc_response_status_code="200") == 3
    assert value(callers, name, rpc_method="hello", rpc_response_status_code="500") == 1
    # Started at once, round-robin: the 2nd and 4th went to the dead instance first.
    assert value(callers, "micro_call_failovers_total", service="hello", reason="refused") == 2


def test_metric_names_types_and_labels(cluster: MemoryCluster) -> None:
    """
    The names follow OpenTelemetry's conventions the Prometheus way, with
    bounded labels: service names and statuses, never locations.
    """
    node = cluster.node(observability=METRICS)
    instance = cluster.result(node.create_service(lambda payload: 1, "one"))
    cluster.result(node.call("one"))
    found = families(_get(cluster, instance.location + "/_micro/metrics").body)
    assert found["rpc_server_call_duration_seconds"] == ("histogram", {"rpc_method", "rpc_response_status_code"})
    assert found["rpc_client_call_duration_seconds"] == ("histogram", {"rpc_method", "rpc_response_status_code"})
    assert found["micro_calls_in_flight"] == ("gauge", {"service"})
    assert found["micro_call_failovers"][0] == "counter"
    assert not any("location" in labels or "path" in labels for _, labels in found.values())


@pytest.mark.parametrize("production, headers, code", [
    (False, {}, 200),
    (True, {}, 401),
    (True, {b"micro-registry-token": [b"wrong"]}, 403),
    (True, {b"micro-registry-token": [b"s3cret"]}, 200),
    (True, {b"authorization": [b"Bearer s3cret"]}, 200),
])
def test_metrics_need_the_token_in_production(production: bool, headers: dict[bytes, list[bytes]], code: int) -> None:
    """
    In production an instance's metrics need the registry token (a header,
    a bearer token); elsewhere, and with metrics_open, they do not.
    """
    cluster = MemoryCluster()
    cluster.registry(token="s3cret")
    environment = "production" if production else ""
    node = cluster.node(token="s3cret", environment=environment, observability=METRICS)
    instance = cluster.result(node.create_service(lambda payload: 1, "one"))
    assert _get(cluster, instance.location + "/_micro/metrics", headers).code == code
    opened = cluster.node(home="http://open.test", token="s3cret", environment=environment,
                          observability=Observability(metrics=True, metrics_open=True))
    other = cluster.result(opened.create_service(lambda payload: 1, "two"))
    assert _get(cluster, other.location + "/_micro/metrics").code == 200
