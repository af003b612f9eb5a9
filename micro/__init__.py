"""
micro: microservices as plain Python functions, on Twisted.

A registry discovers services, balances calls across their instances,
routes HTTP requests to them and fans out pub/sub messages; services call
each other directly by name.  See README.rst.
"""

from ._api import (cache_service, call_service, create_pubsub_service, create_route, create_service, default_node,
                   http_request, registry_server, run)
from ._cache_service import CacheService
from ._context import Context
from ._decorators import route, service
from ._errors import HttpError
from ._instance import ServiceInstance
from ._node import Node
from ._node_routes import Route
from ._pubsub_service import PubSubService
from ._registry_server import RegistryServer
from ._request_info import RequestInfo
from ._response import Response
from ._subscribe_mark import subscribe

__version__ = "0.1.0"

__all__ = [
    "CacheService",
    "Context",
    "HttpError",
    "Node",
    "PubSubService",
    "RegistryServer",
    "RequestInfo",
    "Response",
    "Route",
    "ServiceInstance",
    "cache_service",
    "call_service",
    "create_pubsub_service",
    "create_route",
    "create_service",
    "default_node",
    "http_request",
    "registry_server",
    "route",
    "run",
    "service",
    "subscribe",
]
