"""
Load for bench/bench_pubsub.py, run as its own process; prints one JSON line.

    python bench/pubsub_load.py ready SUBSCRIBERS
        wait until SUBSCRIBERS processes answer on bench.ping
    python bench/pubsub_load.py cache-ready
        wait until the cache service answers
    python bench/pubsub_load.py latency PUBLISHES [PORT ...]
        publish one message at a time; delivery latency per subscriber and
        publish round trip
    python bench/pubsub_load.py throughput SECONDS CONCURRENCY [PORT ...]
        CONCURRENCY publishers in a loop for SECONDS
    python bench/pubsub_load.py cache CALLS CONCURRENCY
        alternate cache set and get through call_service (MICRO_REGISTRY_URL)
    python bench/pubsub_load.py cache-inprocess CALLS CONCURRENCY
        the same against a registry and cache hosted in this process
    python bench/pubsub_load.py cache-host
        host the cache service until stopped

latency and throughput with PORTs measure the floor instead: each message
POSTed straight to the bare servers (bench/bare_server.py) on those ports,
all at once.
"""

import json
import sys
import time

from twisted.internet import defer, task

import micro
from bench._common import percentile

WARMUP = 200


async def ready(subscribers):
    pubsub = await micro.create_pubsub_service()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        outcome = await pubsub.publish("bench.ping", None)
        if len(outcome["results"]) >= subscribers:
            return {"ready": len(outcome["results"])}
        await task.deferLater(reactor(), 0.2)
    raise SystemExit(f"only {len(outcome['results'])} subscribers after 60 s")


async def cache_ready():
    deadline = time.monotonic() + 60
    while True:
        try:
            await micro.call_service("cache", {"get": "x"})
            return {"ready": True}
        except micro.HttpError:
            if time.monotonic() > deadline:
                raise
            await task.deferLater(reactor(), 0.2)


async def micro_publisher():
    """
    Publish through micro: the registry delivers to every subscriber.
    """
    pubsub = await micro.create_pubsub_service()

    async def publish(message):
        outcome = await pubsub.publish("bench", message)
        return [entry["result"] for entry in outcome["results"]], len(outcome["errors"])
    return publish


async def floor_publisher(ports):
    """
    The floor of a fan-out: a bare Agent per subscriber POSTing the message
    to bare Resources directly, all at once (no registry in between).
    """
    from bench.load import agent_caller

    calls = [agent_caller(reactor(), f"http://127.0.0.1:{port}/") for port in ports]

    async def publish(message):
        replies = await defer.gatherResults([defer.ensureDeferred(call(message)) for call in calls])
        return [None] * len(replies), 0
    return publish


async def publisher_for(ports):
    return await (floor_publisher(ports) if ports else micro_publisher())


async def latency(publishes, *ports):
    publish = await publisher_for(ports)
    for n in range(WARMUP // 4):
        await publish(n)
    deliveries, round_trips, errors = [], [], 0
    for n in range(publishes):
        sent = time.time()
        delivered, failed = await publish({"n": n})
        round_trips.append(time.time() - sent)
        # micro's subscribers answer with the time their handler ran.
        deliveries.extend(at - sent for at in delivered if at is not None)
        errors += failed
    return {"publishes": publishes, "deliveries": len(deliveries), "errors": errors,
            "delivery_p50_ms": percentile(deliveries, 0.5) * 1e3, "delivery_p99_ms": percentile(deliveries, 0.99) * 1e3,
            "publish_p50_ms": percentile(round_trips, 0.5) * 1e3, "publish_p99_ms": percentile(round_trips, 0.99) * 1e3}


async def throughput(seconds, concurrency, *ports):
    publish = await publisher_for(ports)
    for n in range(WARMUP // 4):
        await publish(n)
    counts = {"publishes": 0, "deliveries": 0, "errors": 0}
    deadline = time.perf_counter() + seconds

    async def publisher(k):
        n = 0
        while time.perf_counter() < deadline:
            delivered, failed = await publish({"k": k, "n": n})
            counts["publishes"] += 1
            counts["deliveries"] += len(delivered)
            counts["errors"] += failed
            n += 1

    started = time.perf_counter()
    await defer.gatherResults([defer.Deferred.fromCoroutine(publisher(k)) for k in range(concurrency)])
    elapsed = time.perf_counter() - started
    return {**counts, "seconds": elapsed, "publish_rate": counts["publishes"] / elapsed,
            "delivery_rate": counts["deliveries"] / elapsed}


async def cache_load(calls, concurrency):
    for n in range(WARMUP):
        await micro.call_service("cache", {"set": {f"w{n}": n}})
    latencies = []

    async def worker(k, count):
        for n in range(count):
            key = f"k{k}-{(n // 2) % 100}"
            started = time.perf_counter()
            if n % 2 == 0:
                await micro.call_service("cache", {"set": {key: n}})
            else:
                assert await micro.call_service("cache", {"get": key}) == n - 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await defer.gatherResults([defer.Deferred.fromCoroutine(worker(k, calls // concurrency))
                               for k in range(concurrency)])
    elapsed = time.perf_counter() - started
    return {"calls": len(latencies), "rate": len(latencies) / elapsed,
            "p50_us": percentile(latencies, 0.5) * 1e6, "p99_us": percentile(latencies, 0.99) * 1e6}


async def cache_inprocess(calls, concurrency):
    await micro.registry_server("http://127.0.0.1:0")
    await micro.cache_service()
    return await cache_load(calls, concurrency)


async def cache_host():
    await micro.cache_service()
    print(json.dumps({"hosting": True}), flush=True)
    await defer.Deferred()  # until SIGTERM


def reactor():
    from twisted.internet import reactor as global_reactor

    return global_reactor


def main():
    mode, args = sys.argv[1], [float(a) if "." in a else int(a) for a in sys.argv[2:]]
    work = {"ready": ready, "cache-ready": cache_ready, "latency": latency, "throughput": throughput, "cache": cache_load,
            "cache-inprocess": cache_inprocess, "cache-host": cache_host}[mode]

    async def body():
        result = await work(*args)
        if result is not None:
            print(json.dumps(result), flush=True)

    micro.run(body)


if __name__ == "__main__":
    main()
