# -*- test-case-name: tests.node.routes.test_declared -*-
"""
The HTTP routes a node declares at the registry.

A node's routes are claims on its lease: the registry drops them when the
node is gone, and the node registers them again when a restarted registry
does not know it.  Several processes may declare the same route to the same
service; it stays while any of them lives.  A node shutting down does not
withdraw its claims first: they end with its lease, once its own instances
have drained, so that meanwhile the route still leads to other instances.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import Logger

from micro._kernel.deferreds import Once
from micro._kernel.errors import HttpError
from micro._kernel.route_paths import DYNAMIC, check_data_type, check_route_path
from micro._kernel.validation import check_service_name
from micro._node.handler import ServiceHandler
from micro._node.instance import ServiceInstance
from micro._node.node import NodeCore


def service_name_for(fn: Callable[..., Any], path: str) -> str:
    """
    The name of the service a route creates for C{fn}: its own name, or,
    for a lambda, one made from the path (C{/api/users/*}: C{route-api-users}).
    """
    name = getattr(fn, "__name__", None)
    if isinstance(name, str) and name and name != "<lambda>":
        return name
    return ("route-" + re.sub(r"[^A-Za-z0-9_.$-]+", "-", path).strip("-"))[:128].rstrip("-")


@define(eq=False)
class Route:
    """
    A route this process declared.

    @ivar instance: The service instance that was created for the route, if
        one was; L{terminate} stops it with the route.
    """

    path: str
    service: str
    data_type: str
    instance: ServiceInstance | None
    _keeper: NodeRoutes
    def __repr__(self) -> str:
        return f"Route({self.path!r} -> {self.service!r})"

    _stopping: Once = field(factory=Once, init=False)

    def terminate(self) -> Deferred[None]:
        """
        Withdraw the route, then stop the service it created.  Safe to call
        more than once.
        """
        return self._stopping(self._terminate)

    async def _terminate(self) -> None:
        await self._keeper.withdraw(self.path, (self.service, self.data_type))
        if self.instance is not None:
            await self.instance.terminate()


@define(eq=False)
class NodeRoutes:
    """
    The routes one node declared, by path: C{(service, data_type)}; made
    once per node (C{node.feature(NodeRoutes)}), and declared again
    whenever the node registers again.
    """

    _node: NodeCore
    declared: dict[str, tuple[str, str]] = field(factory=dict)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self._node.on_rejoin(self.register_all)

    async def create(self, path: str, target: Callable[..., Any] | str, data_type: str = DYNAMIC) -> Route:
        """
        Declare a route to the service C{target} names, or to a service made
        of the function C{target}: hosted here, unless a service of its name
        is already registered, which the route then leads to.  A lambda's
        service is named after the path (C{route-api-users}).
        """
        check_route_path(path)
        check_data_type(data_type)
        created = None
        if isinstance(target, str):
            service = check_service_name(target)
        elif callable(target):
            service = await self._service_for(target, path)
            if await self._exists(service):
                self._log.info("route {path} leads to the registered service {service}", path=path, service=service)
            else:
                created = await self._node.create_service(target, service)
        else:
            raise TypeError(f"a route leads to a function or a service name, not {type(target).__name__}")
        try:
            await self.declare(path, service, data_type)
        except BaseException:
            if created is not None:
                await created.terminate()
            raise
        return Route(path, service, data_type, created, self)

    async def _service_for(self, fn: Callable[..., Any], path: str) -> str:
        """
        The service name for a route's function.  A name this node already
        hosts with other code is taken: a lambda gets the next free name
        made from the path, a named function is refused.
        """
        name = ServiceHandler.wrap(fn, service_name_for(fn, path)).name
        if not self._hosted_elsewise(name, fn):
            return name
        if name == getattr(fn, "__name__", None):
            raise HttpError(409, f"service {name!r} is already hosted here with other code; "
                                 "route to it by name, or give this function another name")
        for n in itertools.count(2):
            candidate = f"{name[:120]}-{n}"
            if not self._hosted_elsewise(candidate, fn):
                return candidate
        raise AssertionError("unreachable")

    def _hosted_elsewise(self, name: str, fn: Callable[..., Any]) -> bool:
        return any(i.name == name and i.handler.fn is not fn for i in self._node.instances())

    async def _exists(self, service: str) -> bool:
        if any(i.name == service and not i.draining for i in self._node.instances()):
            return True
        await self._node.ready()
        return bool(self._node.table.locations(service))

    async def declare(self, path: str, service: str, data_type: str = DYNAMIC) -> None:
        """
        Register a route at the registry on this node's lease.
        """
        await self._node.ready()
        await self._send(path, service, data_type)
        self.declared[path] = (service, data_type)

    async def withdraw(self, path: str, target: tuple[str, str]) -> None:
        """
        Withdraw this node's claim on a route it declared to C{target}
        (service, data type), unless it has declared the path anew since.
        """
        if self.declared.get(path) != target:
            return
        del self.declared[path]
        try:
            await self._node.registry_client.withdraw_route(path, self._node.id)
        except HttpError as e:
            # 404: the registry forgot it already (it restarted); 503: it is
            # down, and forgets the claim with this node's lease.
            if e.status not in (404, 503):
                raise

    def register_all(self) -> Deferred[Any]:
        """
        Register every declared route again (after a registry restart).
        """
        work = [Deferred.fromCoroutine(self._send(path, service, data_type))
                for path, (service, data_type) in self.declared.items()]
        return gatherResults(work, consumeErrors=True)

    async def _send(self, path: str, service: str, data_type: str) -> None:
        await self._node.registry_client.declare_route(path, service, data_type, self._node.id)

