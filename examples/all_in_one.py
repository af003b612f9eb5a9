"""
The quick start: a registry and two services in one process.

    python examples/all_in_one.py

greetingService calls helloService through ctx.call; the script calls
greetingService and prints the greeting.
"""

import micro


def helloService(payload):
    return {"message": "Hello, " + payload["name"]}


async def greetingService(payload, ctx):
    result = await ctx.call("helloService", {"name": "World"})
    result["message"] += " from micro!"
    return result


async def main():
    registry = await micro.registry_server()
    await micro.create_service(helloService)
    await micro.create_service(greetingService)

    result = await micro.call_service("greetingService", {})
    print(result["message"])

    await registry.terminate()


if __name__ == "__main__":
    micro.run(main)
