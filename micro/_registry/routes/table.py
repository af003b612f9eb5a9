# -*- test-case-name: tests.registry.routes.test_table -*-
"""
The registry's route table: which service answers which HTTP path.

A route path is either direct (C{/api/users}), matched exactly, or a
wildcard (C{/api/users/*}), matched by prefix; among wildcards the longest
prefix wins, whatever the order they were registered in.  The query string
never takes part in matching.

Routes are claimed by nodes: a route registered by a node lives as long as
some node that registered it does; one registered without a node (a bare
C{register} command) stays until it is unregistered.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field, frozen

from micro._kernel.route_paths import DYNAMIC, wire_form


@frozen
class RouteEntry:
    """
    One route: requests on C{path} go to an instance of C{service}.

    @ivar owners: The nodes that registered this route, as it is now.
    @ivar pinned: Whether it was registered without a node, and so stays
        until it is unregistered.
    """

    path: str
    service: str
    data_type: str = DYNAMIC
    owners: frozenset[str] = frozenset()
    pinned: bool = False

    @property
    def wildcard(self) -> bool:
        return self.path.endswith("*")

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "service": self.service, "dataType": self.data_type}


@define
class RouteTable:
    """
    Routes by path, with the lookups that matching needs.
    """

    _routes: dict[str, RouteEntry] = field(factory=dict)
    _exact: dict[str, RouteEntry] = field(factory=dict, init=False)
    # Wildcards by prefix length, longest first: matching tries one dict
    # lookup per distinct length instead of every wildcard.
    _prefixes: list[tuple[int, dict[str, RouteEntry]]] = field(factory=list, init=False)
    # The routes of a lost epoch, matched while the nodes declare theirs again.
    _previous: RouteTable | None = field(default=None, init=False)
    _recovering: Callable[[], bool] = field(default=lambda: False, init=False)

    def __len__(self) -> int:
        return len(self._routes)

    def get(self, path: str) -> RouteEntry | None:
        return self._routes.get(path)

    def entries(self) -> list[RouteEntry]:
        """
        Every route, sorted by path.
        """
        return [self._routes[path] for path in sorted(self._routes)]

    def match(self, path: str) -> RouteEntry | None:
        """
        The route for a request path (without its query string), or C{None}.
        """
        entry = self._exact.get(path)
        if entry is not None:
            return entry
        for length, by_prefix in self._prefixes:
            entry = by_prefix.get(path[:length])
            if entry is not None:
                return entry
        if self._previous is not None:
            if self._recovering():
                return self._previous.match(path)
            self._previous = None
        return None

    def retire(self, recovering: Callable[[], bool]) -> None:
        """
        The cluster's state was lost: start empty, and match the routes
        held until now as long as C{recovering()} says.
        """
        previous = RouteTable()
        previous._routes = dict(self._routes)
        previous._reindex()
        self._previous, self._recovering = previous, recovering
        self.clear()

    def add(self, path: str, service: str, data_type: str = DYNAMIC, node: str | None = None) -> RouteEntry | None:
        """
        Register a route; a route already at C{path} is replaced, or, if it
        has the same target, gains C{node} as one more owner.

        @return: The route it replaced, if its target differed.
        """
        previous = self._routes.get(path)
        same = previous is not None and (previous.service, previous.data_type) == (service, data_type)
        owners = previous.owners if same and previous is not None else frozenset()
        pinned = same and previous is not None and previous.pinned
        if node is None:
            pinned = True
        else:
            owners = owners | {node}
        self._put(RouteEntry(path, service, data_type, owners, pinned))
        return None if same else previous

    def remove(self, path: str, node: str | None = None) -> bool:
        """
        Withdraw a route: C{node}'s claim on it, or, without a node, the
        route itself.

        @return: Whether the route is gone.
        """
        entry = self._routes.get(path)
        if entry is None:
            return True
        if node is None:
            self._delete(path)
            return True
        return self._release(entry, node)

    def release_node(self, node: str) -> list[str]:
        """
        Drop every claim of a node that is gone.

        @return: The paths of the routes that went with it.
        """
        gone = []
        for entry in [e for e in self._routes.values() if node in e.owners]:
            if self._release(entry, node):
                gone.append(entry.path)
        return gone

    def _release(self, entry: RouteEntry, node: str) -> bool:
        owners = entry.owners - {node}
        if owners or entry.pinned:
            self._put(RouteEntry(entry.path, entry.service, entry.data_type, owners, entry.pinned))
            return False
        self._delete(entry.path)
        return True

    def put(self, entry: RouteEntry) -> None:
        """
        Hold C{entry} as it is (loading a snapshot).
        """
        self._routes[entry.path] = entry
        self._reindex()

    def clear(self) -> None:
        self._routes.clear()
        self._reindex()

    _put = put

    def _delete(self, path: str) -> None:
        del self._routes[path]
        self._reindex()

    def _reindex(self) -> None:
        exact: dict[str, RouteEntry] = {}
        by_length: dict[int, dict[str, RouteEntry]] = {}
        for entry in self._routes.values():
            key = wire_form(entry.path)
            if entry.wildcard:
                prefix = key[:-1]
                by_length.setdefault(len(prefix), {})[prefix] = entry
            else:
                exact[key] = entry
        self._exact = exact
        self._prefixes = sorted(by_length.items(), reverse=True)
