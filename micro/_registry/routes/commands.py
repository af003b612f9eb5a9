# -*- test-case-name: tests.registry.routes.test_proxy -*-
"""
HTTP routes in the registry: the route commands, and the route table's
life with the nodes that claim routes.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred

from micro._kernel.errors import HttpError, InvalidArgument
from micro._kernel.route_paths import check_data_type, check_route_path
from micro._kernel.validation import check_service_name
from micro._registry.arguments import as_object, node_id
from micro._registry.commands import KindHandlers, RegistryCommands
from micro._registry.routes.table import RouteEntry, RouteTable
from micro._registry.state import RegistryState
from micro._registry.store.interface import ClusterStore, Entry
from micro._registry.store.replica import Replica, SnapshotPart

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
    them through the store, nodes that die take their claims with them.
    """

    state: RegistryState
    store: ClusterStore
    table: RouteTable = field(factory=RouteTable)

    _epoch: str = field(default="", init=False)

    def __attrs_post_init__(self) -> None:
        self.state.on_evict(self._node_gone)
        self.state.on_reset(self._reset)
        self._epoch = self.state.epoch

    def _reset(self) -> None:
        if self.state.epoch != self._epoch:
            self.table.retire(lambda: self.state.recovering)
            self._epoch = self.state.epoch
        else:
            self.table.clear()

    @classmethod
    def install(cls, commands: RegistryCommands, replica: Replica) -> RegistryRoutes:
        """
        Routes for the registry behind C{commands}: C{register} and
        C{unregister} learn C{"type": "route"}, and C{routes} lists them;
        C{replica} learns to apply route changes.
        """
        routes = cls(commands.state, commands.store)
        commands.register_types["route"] = KindHandlers(routes.register, routes.unregister)
        commands.add("routes", routes.describe_all)
        replica.on("route+", routes._add)
        replica.on("route-", routes._remove)
        replica.part("routes", SnapshotPart(routes._dump, routes._load))
        return routes

    # -- commands --------------------------------------------------------------

    def register(self, argument: Any) -> Deferred[dict[str, Any]]:
        argument = _argument(argument, "register")
        path = check_route_path(argument["path"])
        service = check_service_name(argument.get("service"))
        data_type = check_data_type(argument.get("dataType", argument.get("data_type")))
        node = argument.get("node")
        if node is not None:
            # The claim lives on the node's lease, like its instances.
            self.state.renew(node_id(node))
        return self.store.change({"op": "route+", "path": path, "service": service, "dataType": data_type,
                                  "node": node})

    def unregister(self, argument: Any) -> Deferred[dict[str, Any]]:
        argument = _argument(argument, "unregister")
        path = check_route_path(argument["path"])
        node = argument.get("node")
        return self.store.change({"op": "route-", "path": path, "node": None if node is None else node_id(node)})

    def describe_all(self, argument: Any = None) -> list[dict[str, Any]]:
        return [entry.describe() for entry in self.table.entries()]

    # -- changes, as every registry applies them ----------------------------------

    def _add(self, entry: Entry) -> dict[str, Any]:
        path, service, data_type, node = entry["path"], entry["service"], entry["dataType"], entry.get("node")
        if node is not None:
            self.state.ensure_node(node)
        replaced = self.table.add(path, service, data_type, node)
        reply: dict[str, Any] = {"route": path, "service": service, "dataType": data_type}
        if replaced is not None:
            reply["replaced"] = replaced.describe()
        return reply

    def _remove(self, entry: Entry) -> dict[str, Any]:
        path = entry["path"]
        if self.table.get(path) is None:
            raise HttpError(404, f"no route is registered at {path}")
        return {"unregistered": path, "removed": self.table.remove(path, entry.get("node"))}

    def _dump(self) -> list[list[Any]]:
        return [[e.path, e.service, e.data_type, sorted(e.owners), e.pinned] for e in self.table.entries()]

    def _load(self, rows: list[list[Any]]) -> None:
        self.table.clear()
        for path, service, data_type, owners, pinned in rows:
            self.table.put(RouteEntry(path, service, data_type, frozenset(owners), pinned))
            for owner in owners:
                self.state.ensure_node(owner)

    def _node_gone(self, node: str) -> None:
        self.table.release_node(node)
