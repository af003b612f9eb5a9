# -*- test-case-name: tests.registry.routes.test_proxy -*-
"""
HTTP routes in the registry: the route commands, and the route table's
life with the nodes that claim routes.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from micro._kernel.errors import HttpError, InvalidArgument
from micro._kernel.route_paths import check_data_type, check_route_path
from micro._kernel.validation import check_service_name
from micro._registry.arguments import as_object, node_id
from micro._registry.commands import KindHandlers, RegistryCommands
from micro._registry.routes.table import RouteTable
from micro._registry.state import RegistryState

_EXAMPLE = '{"type": "route", "path": "/api/users/*", "service": "users", "dataType": "dynamic"}'


def _argument(argument: Any, command: str) -> dict[str, Any]:
    checked = as_object(argument, command, _EXAMPLE)
    if checked.get("path") is None:
        raise InvalidArgument(f"{command} of a route needs 'path', like {_EXAMPLE}")
    return checked


@define
class RegistryRoutes:
    """
    The registry's routes and what keeps them: commands add and withdraw
    them, nodes that die take their claims with them.
    """

    state: RegistryState
    table: RouteTable = field(factory=RouteTable)

    def __attrs_post_init__(self) -> None:
        self.state.on_evict(self._node_gone)

    @classmethod
    def install(cls, commands: RegistryCommands) -> RegistryRoutes:
        """
        Routes for the registry behind C{commands}: C{register} and
        C{unregister} learn C{"type": "route"}, and C{routes} lists them.
        """
        routes = cls(commands.state)
        commands.register_types["route"] = KindHandlers(routes.register, routes.unregister)
        commands.add("routes", routes.describe_all)
        return routes

    # -- commands --------------------------------------------------------------

    def register(self, argument: Any) -> dict[str, Any]:
        argument = _argument(argument, "register")
        path = check_route_path(argument["path"])
        service = check_service_name(argument.get("service"))
        data_type = check_data_type(argument.get("dataType", argument.get("data_type")))
        node = argument.get("node")
        if node is not None:
            # The claim lives on the node's lease, like its instances.
            self.state.renew(node_id(node))
        replaced = self.table.add(path, service, data_type, node)
        reply: dict[str, Any] = {"route": path, "service": service, "dataType": data_type}
        if replaced is not None:
            reply["replaced"] = replaced.describe()
        return reply

    def unregister(self, argument: Any) -> dict[str, Any]:
        argument = _argument(argument, "unregister")
        path = check_route_path(argument["path"])
        node = argument.get("node")
        if self.table.get(path) is None:
            raise HttpError(404, f"no route is registered at {path}")
        removed = self.table.remove(path, None if node is None else node_id(node))
        return {"unregistered": path, "removed": removed}

    def describe_all(self, argument: Any = None) -> list[dict[str, Any]]:
        return [entry.describe() for entry in self.table.entries()]

    def _node_gone(self, node: str) -> None:
        self.table.release_node(node)
