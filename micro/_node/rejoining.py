# -*- test-case-name: tests.registry.test_restart -*-
"""
How a node joins a registry that lost it (it restarted): every live
instance registers again, and the node's features (routes, subscriptions)
do what they need through their rejoin hooks.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Protocol

from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._kernel.errors import HttpError, counted
from micro._node.registry_client import RegistryClient

_log = Logger(namespace="micro._node.node.NodeCore")


class Registered(Protocol):
    @property
    def name(self) -> str: ...

    location: str


def register_again(client: RegistryClient, node_id: str, instances: Iterable[Registered],
                   hooks: Iterable[Callable[[], Deferred[Any]]]) -> Deferred[None]:
    """
    Register C{instances} again and run C{hooks}.

    Fails if the registry could not be asked, so that the caller tries
    again; a registration it refuses (a 4xx) is logged and not retried.
    """
    listed = list(instances)
    work = [client.register(i.name, i.location, node_id).addErrback(_refused, i.location) for i in listed]
    work.extend(hook() for hook in hooks)

    def done(_: Any) -> None:
        # A node's first watch finds it unknown too, with nothing to register yet: no news.
        if listed:
            _log.info("registered {count} again", count=counted(len(listed), "instance"))
    return gatherResults(work, consumeErrors=True).addCallback(done)


def _refused(failure: Failure, location: str) -> None | Failure:
    error = failure.value
    if isinstance(error, HttpError) and error.status < 500:
        _log.error("the registry refuses {location} again: {error}", location=location, error=error)
        return None
    return failure
