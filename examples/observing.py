"""
Observing a cluster: a registry and two services with metrics on, a few
calls and route requests, then what an operator sees: the probes, a few
lines of the registry's and an instance's Prometheus metrics, and where
the dashboard is.  With --serve it keeps running, so that you can open
the dashboard in a browser (Ctrl-C stops it).

    python examples/observing.py [--serve]
"""

import sys

from twisted.internet import task

import micro


def hello(payload):
    return {"message": "Hello, " + payload["name"]}


async def greeting(payload, ctx):
    result = await ctx.call("hello", {"name": "World"})
    return {"message": result["message"] + " from micro!", "trace": ctx.trace_id}


async def _get(url):
    import treq

    response = await treq.get(url)
    return response.code, (await response.text())


async def main():
    registry = await micro.registry_server("http://127.0.0.1:0")
    hello_instance = await micro.create_service(hello)
    await micro.create_service(greeting)
    await micro.create_route("/api/greeting", "greeting")
    for _ in range(3):
        await micro.call_service("greeting", {})
        await _get(registry.url + "/api/greeting")

    for path in ("/_micro/live", "/_micro/ready"):
        code, body = await _get(registry.url + path)
        print(f"registry {path}: {code} {body}")
    code, body = await _get(hello_instance.location + "/_micro/ready")
    print(f"hello's instance /_micro/ready: {code} {body}")
    print()
    _, page = await _get(registry.url + "/_micro/metrics")
    print("registry /_micro/metrics:")
    print("\n".join(line for line in page.splitlines()
                    if line.startswith(("http_server_request_duration_seconds_count", "micro_registry_instances"))))
    _, page = await _get(hello_instance.location + "/_micro/metrics")
    print("hello's /_micro/metrics:")
    print("\n".join(line for line in page.splitlines() if line.startswith("rpc_server_call_duration_seconds_count")))
    print()
    print(f"the dashboard: {registry.url}/_micro/ui")
    if "--serve" in sys.argv:
        from twisted.internet import reactor

        await task.deferLater(reactor, 3600, lambda: None)
    await registry.terminate()


micro.run(main, metrics=True)
