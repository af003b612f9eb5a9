"""
micro: microservices as plain Python functions, on Twisted.

A registry discovers services, balances calls across their instances,
routes HTTP requests to them and fans out pub/sub messages; services call
each other directly by name.  See README.rst.
"""

from micro._app.api import (cache_service, call_service, create_pubsub_service, create_route, create_service,
                            http_request, registry_server, shutdown)
from micro._app.default import default_node
from micro._app.marks import on_start, on_stop, route, service, subscribe
from micro._app.node import Node
from micro._app.run import run
from micro._kernel.config import Settings
from micro._kernel.errors import HttpError
from micro._kernel.observer import Observability
from micro._node.cache.service import CacheService
from micro._node.context import Context
from micro._node.instance import ServiceInstance
from micro._node.pubsub.service import PubSubService
from micro._node.request_info import RequestInfo
from micro._node.route_responses import Response
from micro._node.routes.declared import Route
from micro._registry.server import RegistryServer

__version__ = "0.1.0"

__all__ = [
    "CacheService",
    "Context",
    "HttpError",
    "Node",
    "Observability",
    "PubSubService",
    "RegistryServer",
    "RequestInfo",
    "Response",
    "Route",
    "ServiceInstance",
    "Settings",
    "cache_service",
    "call_service",
    "create_pubsub_service",
    "create_route",
    "create_service",
    "default_node",
    "http_request",
    "on_start",
    "on_stop",
    "registry_server",
    "route",
    "run",
    "service",
    "shutdown",
    "subscribe",
]
