"""
Two registries sharing one Redis, here in one process (they would usually
run on two machines, as twistd micro-registry --store redis://...):

    MICRO_REGISTRY_STORE=redis://127.0.0.1:6379/0 python examples/several_registries.py

A service registered through registry A is known to registry B at once:
B finds it, calls it, and routes to it.  Needs micro[redis] and a Redis.
"""

import os

import micro

STORE = os.environ.get("MICRO_REGISTRY_STORE", "redis://127.0.0.1:6379/0")


def hello(payload):
    return {"message": "Hello, " + payload["name"]}


async def main():
    a = await micro.registry_server("http://127.0.0.1:0", store=STORE)
    b = await micro.registry_server("http://127.0.0.1:0", store=STORE)
    await micro.create_service(hello)          # this process's services join A, the first registry
    await micro.create_route("/hello", "hello")

    print("B finds it:", await micro.http_request(b.url, {"lookup": "hello"}) is not None)
    print("B calls it:", (await micro.http_request(b.url, {"call": {"service": "hello",
                                                                      "payload": {"name": "B"}}}))["message"])
    print("B routes to it:", (await micro.http_request(f"{b.url}/hello", {"name": "route"}))["message"])
    await b.terminate()
    await a.terminate()


if __name__ == "__main__":
    micro.run(main)
