# -*- test-case-name: tests.node.test_node -*-
"""
Where a node's call goes: to an instance in this process (no HTTP), to an
instance from the table (HTTP, with failover), or to one the registry
knows and the table does not yet.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from micro._calls.caller import Caller, unknown_service
from micro._calls.decoding import decode_reply
from micro._kernel.codec import across, encode_value
from micro._kernel.errors import HttpError, InvalidArgument
from micro._kernel.observer import Observer
from micro._kernel.propagation import Propagation
from micro._kernel.validation import check_service_name
from micro._node.instance import ServiceInstance
from micro._node.registry_client import RegistryClient
from micro._node.table import ServiceTable

READY_TIMEOUT = 10.0
_FOREVER = float("inf")


def _positive_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 < value < _FOREVER


@define
class CallRouter:
    """
    Send calls to instances of services, by name.

    @ivar _local: The instance hosted in this process at a location, if any.
    @ivar _ready: Waits (at most the given seconds) for the table to load.
    @ivar _missing: Per service, the table version at which the registry
        said it had no instance: asked again only once the table moves.
    @ivar observer: Watches every call, if set.
    """

    _clock: IReactorTime
    _table: ServiceTable
    _caller: Caller
    _client: RegistryClient
    _local: Callable[[str], ServiceInstance | None]
    _ready: Callable[[float], Deferred[None]]
    observer: Observer | None = None
    _missing: dict[str, int] = field(factory=dict, init=False)

    def call(self, service: str, payload: Any, timeout: float, retries: int,
             propagation: Propagation | None = None) -> Deferred[Any]:
        """
        Call an instance of C{service} and return its decoded result;
        failures are L{HttpError}s.

        @param propagation: The context of the request this call is part
            of; if C{None}, the call starts a request, with a new one made
            when it is needed (over HTTP always, in-process for C{ctx}).
        """
        observer = self.observer
        if observer is None:
            return self._route(service, payload, timeout, retries, propagation)
        watch = observer.calling(service, propagation)
        return self._route(service, payload, timeout, retries, watch.propagation).addBoth(watch.done)

    def _route(self, service: str, payload: Any, timeout: float, retries: int,
               propagation: Propagation | None) -> Deferred[Any]:
        # The defaults (a float, 0) pass the first test: calls are the hot path.
        if not (type(timeout) is float and 0.0 < timeout < _FOREVER) and not _positive_number(timeout):
            return fail(InvalidArgument(f"timeout must be a number of seconds above 0, not {timeout!r}"))
        if not (type(retries) is int and retries >= 0):
            return fail(InvalidArgument(f"retries must be a whole number, 0 or more, not {retries!r}"))
        if not self._table.loaded:
            return self._when_ready(service, payload, timeout, retries, propagation)
        location = self._caller.pick(service)
        instance = self._local(location) if location is not None else None
        try:
            if instance is not None:
                crossed, content_type, size = across(payload)
            else:
                body, content_type = encode_value(payload)
        except TypeError as e:
            return fail(TypeError(f"payload for {service!r} is {e}"))
        if instance is not None:
            return instance.call_in_process(crossed, content_type, size, timeout, propagation)
        if location is None:
            return self._missing_service(service, body, content_type, timeout, retries, propagation)
        d = self._caller.send(service, location, body, content_type, timeout, retries, propagation)
        return d.addCallback(decode_reply, f"service {service!r}")

    def _when_ready(self, service: str, payload: Any, timeout: float, retries: int,
                    propagation: Propagation | None) -> Deferred[Any]:
        d = self._ready(min(timeout, READY_TIMEOUT))
        return d.addCallback(lambda _: self._route(service, payload, timeout, retries, propagation))

    def _missing_service(self, service: str, body: bytes, content_type: bytes, timeout: float,
                         retries: int, propagation: Propagation | None) -> Deferred[Any]:
        """
        Not in our table: ask the registry once per table version, in case
        the service registered a moment ago and its change is on its way.
        """
        try:
            check_service_name(service)
        except HttpError as e:
            return fail(e)
        version = self._table.version
        if self._missing.get(service) == version:
            return unknown_service(service)
        deadline = self._clock.seconds() + timeout

        def found(location: str) -> Deferred[Any]:
            remaining = max(deadline - self._clock.seconds(), 0.0)
            d = self._caller.send(service, location, body, content_type, remaining, retries, propagation)
            return d.addCallback(decode_reply, f"service {service!r}")

        def not_found(failure: Failure) -> Failure:
            error = failure.value
            if isinstance(error, HttpError) and error.status == 404:
                self._missing[service] = version
                return failure
            if isinstance(error, HttpError) and error.status in (503, 504):
                raise HttpError(503, f"no instance of {service!r} is known here and the registry "
                                     f"cannot be asked: {error.message}")
            return failure

        return self._client.lookup(service, timeout).addCallbacks(found, not_found)
