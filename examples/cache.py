"""
The built-in cache service: every command, through call_service.

    python examples/cache.py

The cache is an ordinary service named "cache"; any process of the
cluster reaches it with call_service or ctx.call.  Times are milliseconds.
"""

import micro


async def main():
    registry = await micro.registry_server()
    cache = await micro.cache_service(expire_time=60_000, eviction_interval=30_000)

    def call(payload):
        return micro.call_service("cache", payload)

    await call({"set": {"user:1": {"name": "Alice"}, "visits": 0}})
    print("get user:1 ->", await call({"get": "user:1"}))
    print("get visits ->", await call({"get": "visits"}))  # falsy values survive

    await call({"setex": {"session": "abc123"}, "ex": {"session": 300_000}})  # expires in 5 minutes
    print("get * ->", await call({"get": "*"}))

    print("del ->", await call({"del": {"user:1": True}}))
    print("settings ->", await call({"settings": {"evictionInterval": 60_000, "max_entries": 1000}}))

    try:
        await call({"fetch": "user:1"})
    except micro.HttpError as e:
        print("bad command ->", e.status, e.message)

    print("clear ->", await call({"clear": True}))

    await cache.terminate()
    await registry.terminate()


if __name__ == "__main__":
    micro.run(main)
