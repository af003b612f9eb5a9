# -*- test-case-name: tests.registry.store.test_contract -*-
"""
What a store offers a registry, and the one error it adds.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from twisted.internet.defer import Deferred

from micro._kernel.errors import HttpError
from micro._registry.state import RegistryState

# A change as the store hands it on: {"op": name, ...arguments}; in the
# feed it also carries "p" (its position) and "v" (the table version after it).
Entry = dict[str, Any]


class StoreUnavailable(HttpError):
    """
    The store cannot take a change now: a 503 that says why and to try again.
    """

    def __init__(self, message: str):
        super().__init__(503, message)


class ClusterStore(Protocol):
    """
    The state shared by the registries of a cluster.
    """

    @property
    def loaded(self) -> bool:
        """
        Whether this registry's view holds the store's state (it may be
        out of date if the store is away now).
        """

    @property
    def ready(self) -> bool:
        """
        Whether this registry's view is current: it answers watches only then.
        """

    def on_unready(self, listener: Callable[[], None]) -> None:
        """
        Call C{listener} when this registry stops being ready.
        """

    def describe(self) -> str:
        """
        Where the state is kept, for logs and health replies.
        """

    def start(self) -> Deferred[None]:
        """
        Load the state into the view and start following its changes.
        """

    def change(self, entry: Entry) -> Deferred[Any]:
        """
        Make one change, atomically: its result once this registry's view
        holds it; an L{HttpError} if it is refused (nothing changed).
        """

    def allocate(self, home: str) -> Deferred[str]:
        """
        A location with a port that no instance holds and nobody was handed
        recently, on the host of C{home}.
        """

    def drop(self, node: str, here: RegistryState) -> None:
        """
        The node's watch connection to C{here}'s registry was lost: evict
        it, unless it watches elsewhere now.
        """

    def lagging_elsewhere(self, version: int, here: RegistryState) -> Deferred[int]:
        """
        How many nodes watching registries other than C{here}'s hold less
        than C{version} (0 at once with no other registry).
        """

    def stop(self) -> Deferred[None]:
        """
        Stop following, cancel timers, close connections.
        """


class AttachableStore(ClusterStore, Protocol):
    """
    A store that a registry's view can be attached to, as it is built.
    """

    def attach(self, replica: Any) -> None:
        """
        Make C{replica} (a L{micro._registry.store.replica.Replica}) follow this store.
        """
