# -*- test-case-name: tests.registry.test_framework -*-
"""
The registry's own endpoints under C{/_micro/}, answered before the route
proxy sees a request (no route may be declared there):

    GET /_micro/health    the registry's health (the health command's reply)
    GET /_micro/live      200 while the process answers
    GET /_micro/ready     200 unless it is stopping (503)
    GET /_micro/metrics   Prometheus metrics (with --metrics)
    GET /_micro/ui        the dashboard page; /_micro/ui/data what it shows

The dashboard is read-only, ships its few static files in the package (no
CDN: it works without internet), and in production needs the registry
token (HTTP Basic: any user name, the token as password), as metrics do.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any, Callable

from attrs import define
from klein import Klein
from twisted.web.iweb import IRequest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from micro._http.respond import write_error, write_json
from micro._kernel.errors import HttpError
from micro._kernel.protocol import HEALTH_PATH, LIVE_PATH, METRICS_PATH, READY_PATH, UI_PATH
from micro._observe import probes
from micro._registry.dashboard import Dashboard
from micro._registry.operations import RegistryOperations

# The page's files, by the name the page asks for, and their types.
STATIC = {
    "index.html": b"text/html; charset=utf-8",
    "app.js": b"text/javascript; charset=utf-8",
    "style.css": b"text/css; charset=utf-8",
}


def static_file(name: str) -> bytes:
    return files("micro._registry").joinpath("ui", name).read_bytes()


@define
class RegistryEndpoints:
    """
    The registry's endpoints, a view over its health, operations and dashboard.
    """

    health: Callable[[], Any]
    operations: RegistryOperations
    dashboard: Dashboard

    router = Klein()

    @router.route(HEALTH_PATH, methods=["GET"])
    def get_health(self, request: IRequest) -> bytes:
        try:
            return write_json(request, self.health())
        except HttpError as e:
            return write_error(request, e)

    @router.route(LIVE_PATH, methods=["GET"])
    def live(self, request: IRequest) -> bytes:
        return probes.live(request)

    @router.route(READY_PATH, methods=["GET"])
    def ready(self, request: IRequest) -> bytes:
        return probes.ready(request, self.operations.readiness())

    @router.route(METRICS_PATH, methods=["GET"])
    def metrics(self, request: IRequest) -> bytes:
        operations = self.operations
        return probes.metrics(request, operations.metrics, operations.guard, operations.metrics_open)

    @router.route(UI_PATH, methods=["GET"])
    @router.route(UI_PATH + "/", methods=["GET"])
    def page(self, request: IRequest) -> bytes:
        return self._static(request, "index.html")

    @router.route(UI_PATH + "/data", methods=["GET"])
    def data(self, request: IRequest) -> bytes:
        refused = self.operations.guard.refusal(request, "the dashboard")
        if refused is not None:
            return refused
        request.setHeader(b"cache-control", b"no-store")
        return write_json(request, self.dashboard.document())

    @router.route(UI_PATH + "/<name>", methods=["GET"])
    def file(self, request: IRequest, name: str) -> bytes:
        return self._static(request, name)

    def _static(self, request: IRequest, name: str) -> bytes:
        refused = self.operations.guard.refusal(request, "the dashboard")
        if refused is not None:
            return refused
        content_type = STATIC.get(name)
        if content_type is None:
            return write_error(request, HttpError(404, f"the dashboard has no file {name[:100]!r}"))
        request.setHeader(b"content-type", content_type)
        request.setHeader(b"x-content-type-options", b"nosniff")
        return static_file(name)

    @router.handle_errors(NotFound)
    def not_found(self, request: IRequest, failure: Any) -> bytes:
        path = request.path.decode("utf-8", "replace")[:200]
        return write_error(request, HttpError(404, f"no registry endpoint {path}; under /_micro/ the registry "
                                                   "answers health, live, ready, metrics and ui"))

    @router.handle_errors(MethodNotAllowed)
    def not_allowed(self, request: IRequest, failure: Any) -> bytes:
        method = request.method.decode("ascii", "replace")
        return write_error(request, HttpError(405, f"{method} is not allowed here; the registry's /_micro/ "
                                                   "endpoints answer GET"))
