# -*- test-case-name: tests.node.test_instance_resource -*-
"""
The HTTP face of a service instance.

C{POST /} is a call; C{/_micro/...} belongs to the framework (health, for
the registry's probes, and whatever endpoints the instance was given, such
as pub/sub deliveries); anything else is route traffic, and so is every
request the registry marks as such with C{x-micro-route}.
"""

from __future__ import annotations

from typing import Any

from attrs import define
from klein import Klein
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from werkzeug.exceptions import MethodNotAllowed, NotFound
from zope.interface import implementer

from micro._http.lean_request import ILeanResource, LeanHandler
from micro._http.limits import IBodyLimit
from micro._http.respond import without_head_body, write_error, write_json
from micro._kernel.errors import HttpError
from micro._kernel.protocol import FRAMEWORK_PREFIX, HEALTH_PATH, LIVE_PATH, METRICS_PATH, READY_PATH, ROUTE_HEADER
from micro._node.instance import ServiceInstance
from micro._node.operations import NodeOperations
from micro._node.route_traffic import serve_route
from micro._observe import probes


@define
class FrameworkApp:
    """
    The endpoints micro itself uses on an instance, and its operators'.
    """

    instance: ServiceInstance
    operations: NodeOperations

    router = Klein()

    @router.route(HEALTH_PATH, methods=["GET"])
    def health(self, request: IRequest) -> bytes:
        instance = self.instance
        return write_json(request, {
            "micro": True,
            "service": instance.name,
            "location": instance.location,
            "status": "draining" if instance.draining else "serving",
            "in_flight": instance.in_flight,
        })

    @router.route(LIVE_PATH, methods=["GET"])
    def live(self, request: IRequest) -> bytes:
        return probes.live(request)

    @router.route(READY_PATH, methods=["GET"])
    def ready(self, request: IRequest) -> bytes:
        return probes.ready(request, self.operations.readiness(self.instance))

    @router.route(METRICS_PATH, methods=["GET"])
    def metrics(self, request: IRequest) -> bytes:
        operations = self.operations
        return probes.metrics(request, operations.metrics, operations.guard, operations.metrics_open)

    @router.handle_errors(NotFound)
    def not_found(self, request: IRequest, failure: Any) -> bytes:
        return write_error(request, HttpError(404, f"no framework endpoint {request.path.decode('utf-8', 'replace')}"))

    @router.handle_errors(MethodNotAllowed)
    def not_allowed(self, request: IRequest, failure: Any) -> bytes:
        return _not_allowed(request)


def _not_allowed(request: IRequest) -> bytes:
    return write_error(request, HttpError(405, f"{request.method.decode('ascii', 'replace')} is not allowed here"))


@implementer(IBodyLimit, ILeanResource)
class InstanceResource(Resource):
    """
    Dispatch a request to the call path, the framework app or the routes.

    Calls and the instance's own endpoints (deliveries) do not go through
    Klein: its routing costs more than the rest of the call path on the
    instance side (bench/bench_calls.py).  Nor do they go through
    C{twisted.web} at all: a L{micro._http.lean.LeanChannel} asks
    L{lean_handler} about each request's head, and serves those two kinds
    itself.
    """

    isLeaf = True

    def __init__(self, instance: ServiceInstance, operations: NodeOperations):
        super().__init__()
        self._instance = instance
        self._framework = FrameworkApp(instance, operations).router.resource()

    def body_limit(self, method: bytes, uri: bytes, headers: Any) -> int | None:
        """
        Calls and framework requests are capped; route traffic is not.
        """
        if headers.hasHeader(ROUTE_HEADER):
            return None
        path = uri.split(b"?", 1)[0]
        if (method == b"POST" and path == b"/") or path.startswith(FRAMEWORK_PREFIX):
            return self._instance.node.max_payload_bytes
        return None

    def lean_handler(self, method: bytes, path: bytes,
                     headers: dict[bytes, bytes]) -> tuple[LeanHandler, int | None] | None:
        """
        Calls and the instance's own endpoints are served lean, with the
        same handlers and limit as in L{render}; other requests are not.
        """
        if method != b"POST" or ROUTE_HEADER in headers:
            return None
        instance = self._instance
        if path == b"/":
            return instance.serve_call, instance.node.max_payload_bytes  # type: ignore[return-value]
        endpoint = instance.node.endpoints.get(path)
        if endpoint is None:
            return None
        return (lambda request: endpoint(request, instance)), instance.node.max_payload_bytes

    def render(self, request: IRequest) -> Any:
        return without_head_body(request, self._render(request))

    def _render(self, request: IRequest) -> Any:
        path = request.path
        routed = request.requestHeaders.hasHeader(ROUTE_HEADER)
        if request.method == b"POST" and path == b"/" and not routed:
            return self._instance.serve_call(request)
        if path.startswith(FRAMEWORK_PREFIX) and not routed:
            endpoint = self._instance.node.endpoints.get(path)
            if endpoint is None:
                return self._framework.render(request)
            if request.method != b"POST":
                return _not_allowed(request)
            return endpoint(request, self._instance)
        return serve_route(self._instance, request, request.getHeader(ROUTE_HEADER))
