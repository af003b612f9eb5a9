"""
End to end, with real twistd processes: a call greeting -> hello across
processes is one trace (OpenTelemetry's in-memory exporter in each
process) whose request id and trace id are in both processes' log lines;
without OpenTelemetry the traceparent still passes through; scraping
/_micro/metrics of a registry and an instance after known traffic; the
probes through drain and registry loss.
"""

from __future__ import annotations

import http.client
import json
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests._metrics import samples, value
from tests._processes import Processes, command, free_port, instances, wait_until

pytestmark = pytest.mark.e2e

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"

# One app module, two roles (CHAIN_ROLE): greeting calls hello.  With
# CHAIN_TRACED the process records spans into an in-memory exporter that
# the service spans_<role> returns.
APP = '''
import os
import micro

ROLE = os.environ["CHAIN_ROLE"]

if os.environ.get("CHAIN_TRACED"):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    EXPORTER = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)

    @micro.service(name="spans_" + ROLE)
    def spans(payload):
        return [{"name": s.name, "kind": s.kind.name, "trace": f"{s.context.trace_id:032x}",
                 "span": f"{s.context.span_id:016x}", "parent": f"{s.parent.span_id:016x}" if s.parent else None}
                for s in EXPORTER.get_finished_spans()]

if ROLE == "greeting":
    @micro.route("/api/greeting")
    @micro.service
    async def greeting(payload, ctx):
        result = await ctx.call("hello", {"name": "World"})
        return {**result, "greeting_trace": ctx.trace_id}
else:
    @micro.service
    def hello(payload, ctx):
        try:
            import opentelemetry  # noqa: F401
            otel = True
        except ImportError:
            otel = False
        return {"message": "Hello, " + payload["name"], "traceparent": ctx.request.headers.get("traceparent"),
                "request_id": ctx.request_id, "trace_id": ctx.trace_id, "otel": otel}
'''


def _chain(processes: Processes, *registry_args: str, traced: bool = False, hide_otel: bool = False,
           service_args: tuple[str, ...] = ()) -> tuple[str, dict[str, Any]]:
    (processes.workdir / "chain_app.py").write_text(APP)
    env: dict[str, str] = {"CHAIN_TRACED": "1"} if traced else {}
    if hide_otel:
        hidden = processes.workdir / "hidden" / "opentelemetry"
        hidden.mkdir(parents=True)
        (hidden / "__init__.py").write_text('raise ImportError("opentelemetry is hidden in this test")\n')
        env["PYTHONPATH"] = f"{hidden.parent}:{processes.environment()['PYTHONPATH']}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.registry(port, *registry_args)
    started = {}
    for role in ("hello", "greeting"):
        log = processes.workdir / f"{role}-access.log"
        started[role] = processes.service("chain_app", url, "--access-log", str(log), "--access-log-format", "json",
                                          *service_args, env={**env, "CHAIN_ROLE": role})
        started[role + "-log"] = log
        wait_until(lambda role=role: instances(url, role), what=f"{role}\n{started[role].log()}")
    # The route is declared after the instance registers: wait for it too,
    # without requesting it (the tests count the route's requests).
    wait_until(lambda: any(r.get("path") == "/api/greeting" for r in _command(url, {"routes": {}})[1] or []),
               what="the route /api/greeting")
    return url, started


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _access(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_call_across_processes_is_one_trace_in_spans_and_log_lines(processes: Processes) -> None:
    """
    GET /api/greeting with a request id and a traceparent: the greeting
    process's SERVER span is the child of the client's parent, its CLIENT
    span 'call hello' the parent of the hello process's SERVER span, all
    in the client's trace; both processes' access lines name the request
    id and the trace id.
    """
    url, started = _chain(processes, traced=True)
    status, headers, body = _get(url + "/api/greeting", {"x-request-id": "order-77", "traceparent": PARENT})
    assert status == 200, body
    reply = json.loads(body)
    assert reply["greeting_trace"] == TRACE_ID and reply["trace_id"] == TRACE_ID and reply["request_id"] == "order-77"

    def spans(role: str) -> dict[str, Any]:
        status, listed = _command(url, {"call": {"service": "spans_" + role}})
        assert status == 200, listed
        return {span["name"]: span for span in listed}

    greeting, hello = spans("greeting"), spans("hello")
    assert (greeting["greeting"]["kind"], greeting["call hello"]["kind"], hello["hello"]["kind"]) == (
        "SERVER", "CLIENT", "SERVER")
    assert {greeting["greeting"]["trace"], greeting["call hello"]["trace"], hello["hello"]["trace"]} == {TRACE_ID}
    assert greeting["greeting"]["parent"] == PARENT[36:52]
    assert greeting["call hello"]["parent"] == greeting["greeting"]["span"]
    assert hello["hello"]["parent"] == greeting["call hello"]["span"]
    assert reply["traceparent"] == f"00-{TRACE_ID}-{greeting['call hello']['span']}-01"

    for role in ("greeting", "hello"):
        lines = [line for line in _access(started[role + "-log"]) if line["service"] == role]
        assert [(line["request_id"], line["trace_id"], line["status"]) for line in lines] == [
            ("order-77", TRACE_ID, 200)], lines


def _command(url: str, document: Any) -> tuple[int, Any]:
    return command(url, document)


def test_without_opentelemetry_the_traceparent_passes_through(processes: Processes) -> None:
    """
    With opentelemetry not importable in the service processes, the
    client's traceparent reaches hello unchanged through the registry and
    greeting, and both access logs name its trace.
    """
    url, started = _chain(processes, hide_otel=True)
    status, _, body = _get(url + "/api/greeting", {"x-request-id": "plain-1", "traceparent": PARENT,
                                                   "tracestate": "vendor=1"})
    reply = json.loads(body)
    assert status == 200 and reply["otel"] is False
    assert reply["traceparent"] == PARENT and reply["trace_id"] == TRACE_ID
    for role in ("greeting", "hello"):
        [line] = [line for line in _access(started[role + "-log"]) if line["service"] == role]
        assert (line["request_id"], line["trace_id"]) == ("plain-1", TRACE_ID)


def test_scraping_a_registry_and_an_instance_after_known_traffic(processes: Processes) -> None:
    """
    Five route requests and three direct calls: the registry counts five
    requests on the route, its table and the calls the nodes reported;
    greeting's instance counts eight calls served and eight made to hello.
    """
    url, started = _chain(processes, "--metrics", service_args=("--metrics",))
    for _ in range(5):
        assert _get(url + "/api/greeting")[0] == 200
    for _ in range(3):
        assert _command(url, {"call": {"service": "greeting"}})[0] == 200
    [greeting] = instances(url, "greeting")

    def scraped(target: str) -> dict[Any, float]:
        status, headers, body = _get(target + "/_micro/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain"), body
        return samples(body)

    instance = scraped(greeting)
    name = "rpc_server_call_duration_seconds_count"
    assert value(instance, name, rpc_method="greeting", rpc_response_status_code="200") == 8
    assert value(instance, "rpc_client_call_duration_seconds_count", rpc_method="hello",
                 rpc_response_status_code="200") == 8
    assert value(instance, "process_open_fds") > 0

    def registry_counts() -> bool:
        seen = scraped(url)
        return value(seen, "micro_service_calls_total", service="hello") == 8
    wait_until(registry_counts, timeout=10, what="the nodes' reports")
    registry = scraped(url)
    assert value(registry, "http_server_request_duration_seconds_count", http_route="/api/greeting",
                 http_request_method="GET", http_response_status_code="200") == 5
    assert value(registry, "micro_registry_instances", service="greeting") == 1
    assert value(registry, "micro_registry_nodes") == 2
    assert value(registry, "micro_registry_changes_total", op="register") == 2


def test_probes_through_drain_and_registry_loss(processes: Processes) -> None:
    """
    Instance and registry: live and ready; the registry killed, the
    instance stays live and ready (it serves from its table); back, still
    ready; SIGTERM with a call running: ready answers 503 while it drains.
    """
    (processes.workdir / "slow_app.py").write_text(
        "import micro\nfrom twisted.internet.task import deferLater\n\n"
        "@micro.service\ndef slow(payload, ctx):\n    return deferLater(ctx.clock, payload, lambda: 'done')\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registry = processes.registry(port)
    service = processes.service("slow_app", url, "--drain-timeout", "8")
    wait_until(lambda: instances(url, "slow"), what=f"slow\n{service.log()}")
    [location] = instances(url, "slow")
    for target in (url, location):
        assert _get(target + "/_micro/live")[0] == 200
        assert json.loads(_get(target + "/_micro/ready")[2]) == {"status": "ready"}
    assert json.loads(_get(url + "/_micro/health")[2])["status"] == "ready"

    registry.signal(signal.SIGKILL)
    registry.wait()
    assert _get(location + "/_micro/ready")[0] == 200 and _get(location + "/_micro/live")[0] == 200
    processes.registry(port)
    wait_until(lambda: instances(url, "slow"), what="registered again")
    assert _get(location + "/_micro/ready")[0] == 200

    host, port_text = location.rsplit("//", 1)[1].split(":")
    kept = http.client.HTTPConnection(host, int(port_text), timeout=10)  # stays open through the drain
    kept.request("GET", "/_micro/ready")
    assert kept.getresponse().read() == b'{"status":"ready"}'
    calling = processes.python("caller", "-c", _SLOW_CALL.format(url=url))
    wait_until(lambda: json.loads(_get(location + "/_micro/health")[2])["in_flight"] == 1, what="the slow call")
    service.signal(signal.SIGTERM)

    def draining() -> bool:
        kept.request("GET", "/_micro/ready")
        reply = kept.getresponse()
        body = json.loads(reply.read())
        return reply.status == 503 and body == {"status": "not ready", "reason": "draining: leaving the cluster"}
    wait_until(draining, timeout=5, interval=0.2, what="ready turning 503 on SIGTERM")
    assert calling.wait(15) == 0, calling.log()
    kept.close()


_SLOW_CALL = """
import micro

async def main():
    assert await micro.call_service("slow", 3) == "done"

import os
os.environ["MICRO_REGISTRY_URL"] = "{url}"
micro.run(main)
"""
