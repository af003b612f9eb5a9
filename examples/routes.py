"""
HTTP routes: the registry as the front door.

    python examples/routes.py

Starts a registry, routes a few paths to services, and fetches them over
plain HTTP, as a browser or curl would (curl http://localhost:9999/api/users).
"""

import treq

import micro


def usersService(payload, ctx):
    if ctx.request.method == "POST":
        return micro.Response({"created": payload["name"]}, status=201, headers={"Location": "/api/users/3"})
    return {"users": ["Alice", "Bob"]}


def usersController(payload, ctx):
    return {"path": ctx.request.path, "query": payload}


def greetingService(payload):
    return {"message": "Hello, " + payload.get("name", "World")}


def homePage(payload):
    return "<h1>Hello from micro</h1>"


async def main():
    registry = await micro.registry_server()
    await micro.create_service(greetingService)

    await micro.create_route("/api/users", usersService)          # a new service, from a function
    await micro.create_route("/api/greet", "greetingService")     # an existing service, by name
    await micro.create_route("/api/users/*", usersController)     # everything below /api/users/
    await micro.create_route("/", homePage)

    for method, path in [("GET", "/api/users"), ("POST", "/api/users"), ("GET", "/api/greet?name=Ann"),
                         ("GET", "/api/users/123?tab=posts"), ("GET", "/api/users/profile"), ("GET", "/"),
                         ("GET", "/nowhere")]:
        body = {"name": "Carol"} if method == "POST" else None
        response = await treq.request(method, registry.url + path, json=body, persistent=False)
        content_type = response.headers.getRawHeaders("content-type")[0]
        print(response.code, method, path, content_type, await response.text())

    await registry.terminate()


if __name__ == "__main__":
    micro.run(main)
