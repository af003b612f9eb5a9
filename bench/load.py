"""
A load generator, run as its own process; prints one JSON line of results.

    python bench/load.py agent URL CALLS CONCURRENCY
        a bare twisted.web.client.Agent on a persistent pool, POSTing JSON
    python bench/load.py treq URL CALLS CONCURRENCY
        treq's HTTPClient on the same kind of pool, to measure what treq costs
    python bench/load.py micro SERVICE CALLS CONCURRENCY
        micro.call_service to a service in another process (MICRO_REGISTRY_URL)
    python bench/load.py inprocess SERVICE CALLS CONCURRENCY
        micro.call_service to a service hosted in this very process
    python bench/load.py micro-observed|inprocess-observed SERVICE CALLS CONCURRENCY
        the same with spans and metrics recorded in this process (bench/observed.py)

A last argument "add" makes every call {"a": n, "b": 1}, checked to answer
n + 1 (bench/bench_peers.py: bench/add_app.py, bare_server.py add), instead
of an echoed {"n": n, "name": "bench"}.
"""

import json
import sys
import time

from twisted.internet import defer, task
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent, HTTPConnectionPool, ResponseDone
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

WARMUP = 300


@implementer(IBodyProducer)
class Body:
    def __init__(self, data):
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer):
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


class Collect(Protocol):
    def __init__(self, done):
        self.done, self.parts = done, []

    def dataReceived(self, data):
        self.parts.append(data)

    def connectionLost(self, reason):
        if reason.check(ResponseDone):
            self.done.callback(b"".join(self.parts))
        else:
            self.done.errback(reason)


def agent_caller(reactor, url):
    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 64
    agent = Agent(reactor, pool=pool)
    headers = Headers({b"content-type": [b"application/json"]})
    url = url.encode()

    async def call(payload):
        response = await agent.request(b"POST", url, headers, Body(json.dumps(payload).encode()))
        done = defer.Deferred()
        response.deliverBody(Collect(done))
        return json.loads(await done)

    return call


def treq_caller(reactor, url):
    from treq.client import HTTPClient

    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 64
    http = HTTPClient(Agent(reactor, pool=pool))

    async def call(payload):
        response = await http.post(url, json=payload)
        return await response.json()

    return call


def echo_call(n):
    payload = {"n": n, "name": "bench"}
    return payload, {"echo": payload}


def add_call(n):
    return {"a": n, "b": 1}, n + 1


async def measure(call, calls, concurrency, kind=echo_call):
    for n in range(WARMUP):
        await call(kind(n)[0])
    latencies = []

    async def worker(count):
        for n in range(count):
            payload, expected = kind(n)
            started = time.perf_counter()
            result = await call(payload)
            latencies.append(time.perf_counter() - started)
            assert result == expected, result

    started = time.perf_counter()
    await defer.gatherResults([defer.Deferred.fromCoroutine(worker(calls // concurrency))
                               for _ in range(concurrency)])
    seconds = time.perf_counter() - started
    latencies.sort()
    done = len(latencies)
    return {"calls": done, "seconds": seconds, "rate": done / seconds,
            "mean_us": sum(latencies) / done * 1e6,
            "p50_us": latencies[done // 2] * 1e6, "p99_us": latencies[int(done * 0.99)] * 1e6}


async def main(reactor, mode, target, calls, concurrency, kind=echo_call):
    import micro

    if mode.endswith("-observed"):
        import bench.observed  # noqa: F401

        mode = mode[:-len("-observed")]

    if mode == "agent":
        call = agent_caller(reactor, target)
    elif mode == "treq":
        call = treq_caller(reactor, target)
    elif mode == "micro":
        def call(payload):
            return micro.call_service(target, payload)
    else:
        from bench.echo_app import echo

        await micro.registry_server("http://127.0.0.1:0")
        await micro.create_service(echo)

        def call(payload):
            return micro.call_service(target, payload)
    result = await measure(call, calls, concurrency, kind)
    print(json.dumps(result), flush=True)
    if mode == "inprocess":
        await micro._app.default.shutdown()


def run():
    mode, target, calls, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    kind = add_call if sys.argv[5:] == ["add"] else echo_call
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, mode, target, calls, concurrency, kind)))


if __name__ == "__main__":
    run()
