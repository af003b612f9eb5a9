"""
A registry's metrics after known traffic, in memory: route requests by
route pattern, method and status; the table, nodes and watchers; changes
by kind; broadcast time; deliveries by outcome; the calls nodes report.
"""

from __future__ import annotations

import json
from typing import Any

from micro._kernel.observer import Observability
from micro.testing import MemoryCluster
from tests._memory import fetch
from tests._metrics import families, samples, value


def _scrape(cluster: MemoryCluster) -> dict[Any, float]:
    reply = fetch(cluster, b"GET", "/_micro/metrics")
    assert reply.code == 200, reply.body
    return samples(reply.body)


def _cluster() -> MemoryCluster:
    cluster = MemoryCluster()
    cluster.registry(observability=Observability(metrics=True))
    return cluster


def test_route_requests_are_counted_by_pattern_method_and_status() -> None:
    """
    Three GETs and a POST along a wildcard route, a 404: counted under the
    route pattern, never the raw path; a request no route matched has an
    empty route.
    """
    cluster = _cluster()
    cluster.result(cluster.node().create_route("/api/items/*", lambda payload: {"ok": True}))
    for path in ("/api/items/1", "/api/items/2", "/api/items/3?x=1"):
        assert fetch(cluster, b"GET", path).code == 200
    fetch(cluster, b"POST", "/api/items/9", b"{}", {b"content-type": b"application/json"})
    fetch(cluster, b"GET", "/nowhere")
    seen = _scrape(cluster)
    name = "http_server_request_duration_seconds_count"
    assert value(seen, name, http_route="/api/items/*", http_request_method="GET", http_response_status_code="200") == 3
    assert value(seen, name, http_route="/api/items/*", http_request_method="POST", http_response_status_code="200") == 1
    assert value(seen, name, http_route="", http_request_method="GET", http_response_status_code="404") == 1
    assert not any("/api/items/1" in str(key) for key in seen)


def test_the_table_and_its_changes_by_kind() -> None:
    """
    Instances per service, nodes, watchers, and changes: registered,
    unregistered, evicted when the watch dropped and when the lease ran out.
    """
    cluster = _cluster()
    stays, killed, frozen = (cluster.node(home=f"http://{name}.test") for name in ("stays", "killed", "frozen"))
    for node in (stays, killed, frozen):
        cluster.result(node.create_service(lambda payload: 1, "work"))
    leaving = cluster.result(stays.create_service(lambda payload: 2, "other"))
    seen = _scrape(cluster)
    assert value(seen, "micro_registry_instances", service="work") == 3
    assert value(seen, "micro_registry_nodes") == 3 and value(seen, "micro_registry_watchers") == 3
    assert value(seen, "micro_registry_changes_total", op="register") == 4

    cluster.result(leaving.terminate())
    cluster.kill("http://killed.test")
    cluster.freeze("http://frozen.test")
    cluster.advance(5)
    seen = _scrape(cluster)
    assert value(seen, "micro_registry_instances", service="work") == 1
    assert value(seen, "micro_registry_changes_total", op="unregister") == 1
    assert value(seen, "micro_registry_changes_total", op="evict_drop") == 1
    assert value(seen, "micro_registry_changes_total", op="evict_lease") == 1
    assert value(seen, "micro_registry_broadcast_seconds_count") >= 1


def test_deliveries_by_outcome_and_the_nodes_call_counts() -> None:
    """
    A publish to a subscriber that answers and one whose handler raises:
    one ok and one error delivery; calls the nodes report on their watches
    add up per service as counters.
    """
    cluster = _cluster()
    good, bad = cluster.node(home="http://good.test"), cluster.node(home="http://bad.test")
    cluster.result(good.pubsub.subscribe("news", lambda message: "read"))
    cluster.result(bad.pubsub.subscribe("news", lambda message: 1 / 0))
    cluster.result(good.create_service(lambda payload: payload, "echo"))
    outcome = cluster.result(good.publish("news", {"n": 1}))
    assert len(outcome["results"]) == 1 and len(outcome["errors"]) == 1
    for n in range(5):
        cluster.result(bad.call("echo", n))
    cluster.advance(2.5)  # a watch carries the counts
    seen = _scrape(cluster)
    assert value(seen, "micro_pubsub_deliveries_total", channel="news", outcome="ok") == 1
    assert value(seen, "micro_pubsub_deliveries_total", channel="news", outcome="error") == 1
    assert value(seen, "micro_pubsub_delivery_seconds_count", channel="news") == 2
    assert value(seen, "micro_service_calls_total", service="echo") == 5
    assert value(seen, "micro_service_call_errors_total", service="echo") == 0
    assert value(seen, "micro_service_call_duration_seconds_bucket", service="echo", le="+Inf") == 5


def test_registry_metric_names_types_and_labels() -> None:
    """
    Names, types and the only labels each family uses.
    """
    cluster = _cluster()
    cluster.result(cluster.node().create_route("/r", lambda payload: 1))
    fetch(cluster, b"GET", "/r")
    found = families(fetch(cluster, b"GET", "/_micro/metrics").body)
    assert found["http_server_request_duration_seconds"] == (
        "histogram", {"http_route", "http_request_method", "http_response_status_code"})
    assert found["micro_registry_instances"] == ("gauge", {"service"})
    assert found["micro_registry_nodes"] == ("gauge", set())
    assert found["micro_registry_watchers"] == ("gauge", set())
    assert found["micro_registry_changes"] == ("counter", {"op"})
    assert found["micro_registry_broadcast_seconds"][0] == "histogram"
    assert found["micro_service_calls"] == ("counter", {"service"})
    assert found["process_resident_memory_bytes"][0] == "gauge"


def test_openmetrics_when_asked() -> None:
    """
    A scraper that accepts OpenMetrics gets it.
    """
    cluster = _cluster()
    reply = fetch(cluster, b"GET", "/_micro/metrics", headers={b"accept": b"application/openmetrics-text; version=1.0.0"})
    assert reply.header(b"content-type").startswith(b"application/openmetrics-text")
    assert reply.body.rstrip().endswith(b"# EOF")


def test_the_access_log_of_route_traffic(tmp_path: Any) -> None:
    """
    With an access log, each route request is a line: method, path,
    route, status, bytes, duration, request and trace ids; off by default.
    """
    path = tmp_path / "access.log"
    cluster = MemoryCluster()
    cluster.registry(observability=Observability(access_log=str(path), access_log_format="json"))
    cluster.result(cluster.node().create_route("/api/items/*", lambda payload: {"ok": True}))
    fetch(cluster, b"GET", "/api/items/7?x=1", headers={b"x-request-id": b"r-9"})
    fetch(cluster, b"GET", "/nowhere")
    first, second = [json.loads(line) for line in path.read_text().splitlines()]
    assert {key: first[key] for key in ("kind", "method", "path", "route", "service", "status", "request_id")} == {
        "kind": "route", "method": "GET", "path": "/api/items/7?x=1", "route": "/api/items/*",
        "service": "route-api-items", "status": 200, "request_id": "r-9"}
    assert first["bytes"] == len(b'{"ok":true}') and first["duration"] >= 0 and len(first["trace_id"]) == 32
    assert (second["route"], second["status"]) == (None, 404)
    assert MemoryCluster().registry().stack.operations.observer is None
