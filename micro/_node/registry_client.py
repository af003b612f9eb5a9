# -*- test-case-name: tests.node.test_registry_client -*-
"""
Talking to the registry: one method per command.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from micro._calls.decoding import decode_reply, transport_error
from micro._http.client import HttpClient
from micro._kernel.codec import JSON_TYPE, dumps
from micro._kernel.config import Settings
from micro._kernel.errors import HttpError
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import DELIVERY_TIMEOUT, NOT_READY, TOKEN_HEADER
from micro._node.registry_endpoints import RegistryEndpoints, name_resolver

COMMAND_TIMEOUT = 10.0
# How long a watch may wait for its answer before the first reply has said
# how long the registry holds watches; must exceed any registry's hold.
WATCH_TIMEOUT = 60.0


@define
class RegistryClient:
    """
    Send commands to the registry at C{url} (or the registries, separated
    by commas), with the token if there is one.

    With several registries, commands go to the current one; one that
    cannot be reached, or says it is not ready, is left for the next, and
    the command goes there (a command that was sent and timed out is not
    sent again: it may have run).
    """

    _http: HttpClient
    url: str
    token: str | None = None
    timeout: float = COMMAND_TIMEOUT
    endpoints: RegistryEndpoints = field(default=None)
    _headers: Headers = field(init=False)

    def __attrs_post_init__(self) -> None:
        headers = Headers({b"content-type": [JSON_TYPE]})
        if self.token:
            headers.addRawHeader(TOKEN_HEADER, self.token.encode("utf-8"))
        self._headers = headers
        if self.endpoints is None:
            self.endpoints = RegistryEndpoints(self.url)

    @classmethod
    def create(cls, http: HttpClient, settings: Settings, reactor: Any, *, resolve: bool = True) -> RegistryClient:
        """
        A client of the registries C{settings} name; with C{resolve}, a
        single registry host name is looked up for all its addresses (on
        real networks only: tests on a memory network say not to).
        """
        endpoints = RegistryEndpoints(settings.registry_url, reactor, name_resolver(reactor) if resolve else None)
        return cls(http, settings.registry_url, settings.token, endpoints=endpoints)

    @property
    def http(self) -> HttpClient:
        return self._http

    @property
    def current(self) -> str:
        """
        The registry commands go to now.
        """
        return self.endpoints.current

    def command(self, name: str, argument: Any, timeout: float | None = None,
                propagation: Propagation | None = None) -> Deferred[Any]:
        """
        Run a command; fail with L{HttpError} for an error reply, 503 if no
        registry can be reached and 504 if one does not answer in time.

        @param propagation: The context of the request the command is part
            of, for those that pass it on (C{publish}).
        @raise TypeError: C{argument} is not JSON.
        """
        body = dumps({name: argument})
        headers = self._headers
        if propagation is not None:
            headers = headers.copy()
            for header, value in propagation.headers().items():
                headers.setRawHeaders(header, [value])
        return Deferred.fromCoroutine(self._command(name, body, timeout or self.timeout, headers))

    async def _command(self, name: str, body: bytes, timeout: float, headers: Headers) -> Any:
        endpoints = self.endpoints
        for attempt in range(len(endpoints.urls)):
            url = endpoints.current
            try:
                return await self.send(url, name, body, timeout, headers)
            except MoveOn:
                endpoints.failed(url)
                if attempt + 1 >= len(endpoints.urls):
                    raise
            except HttpError as e:
                if e.status == 504:
                    endpoints.failed(url)  # for the next command; this one may have run
                raise
        raise AssertionError("unreachable")

    def send(self, url: str, name: str, body: bytes, timeout: float, headers: Headers | None = None) -> Deferred[Any]:
        """
        Send one encoded command to the registry at C{url}; a failure that
        another registry would not have is a L{MoveOn}.
        """
        d = self._http.request(b"POST", url.encode("utf-8"), body, headers or self._headers, timeout)
        return d.addCallbacks(decode_reply, _transport_failure, callbackArgs=(f"registry ({name})",),
                              errbackArgs=(f"registry command {name} at {url}",)).addErrback(_not_ready)

    def setup(self, service: str, home: str) -> Deferred[str]:
        return self.command("setup", {"service": service, "home": home})

    def register(self, service: str, location: str, node: str) -> Deferred[dict[str, Any]]:
        return self.command("register", {"type": "service", "service": service, "location": location, "node": node})

    def unregister(self, service: str, location: str) -> Deferred[dict[str, Any]]:
        return self.command("unregister", {"type": "service", "service": service, "location": location})

    def lookup(self, service: str, timeout: float | None = None) -> Deferred[Any]:
        return self.command("lookup", service, timeout=min(timeout or self.timeout, self.timeout))

    def settle(self, version: int, timeout: float) -> Deferred[dict[str, Any]]:
        return self.command("settle", {"version": version, "timeout": timeout}, timeout=timeout + COMMAND_TIMEOUT)

    def watch(self, node: str, epoch: str, version: int, timeout: float = WATCH_TIMEOUT, *,
              stats: dict[str, Any] | None = None) -> Deferred[dict[str, Any]]:
        """
        Watch the table from C{version} on, at the current registry only
        (the watcher decides where to go next), reporting the node's call
        counts (C{stats}) if they changed.
        """
        argument: dict[str, Any] = {"node": node, "epoch": epoch, "version": version}
        if stats is not None:
            argument["stats"] = stats
        return self.send(self.current, "watch", dumps({"watch": argument}), timeout)

    # -- routes ---------------------------------------------------------------

    def declare_route(self, path: str, service: str, data_type: str, node: str) -> Deferred[dict[str, Any]]:
        """
        Claim a route on the lease of C{node}.
        """
        return self.command("register", {"type": "route", "path": path, "service": service, "dataType": data_type,
                                         "node": node})

    def withdraw_route(self, path: str, node: str) -> Deferred[dict[str, Any]]:
        """
        Give up the claim of C{node} on a route.
        """
        return self.command("unregister", {"type": "route", "path": path, "node": node})

    # -- pub/sub --------------------------------------------------------------

    def subscribe(self, channel: str, location: str, node: str) -> Deferred[dict[str, Any]]:
        return self.command("subscribe", {"channel": channel, "location": location, "node": node})

    def unsubscribe(self, channel: str, location: str) -> Deferred[dict[str, Any]]:
        return self.command("unsubscribe", {"channel": channel, "location": location})

    def publish(self, channel: str, message: Any, *, publisher: str, seq: int,
                timeout: float | None = None, propagation: Propagation | None = None) -> Deferred[dict[str, Any]]:
        """
        Publish through the registry, numbered C{seq} among the publishes of
        node C{publisher} so that they go out in order; the command waits
        for the deliveries (C{timeout}, default the registry's) and a bit more.

        @raise TypeError: C{message} is not JSON.
        """
        argument: dict[str, Any] = {"channel": channel, "message": message, "publisher": publisher, "seq": seq}
        if timeout is not None:
            argument["timeout"] = timeout
        return self.command("publish", argument, timeout=(timeout or DELIVERY_TIMEOUT) + COMMAND_TIMEOUT,
                            propagation=propagation)


class MoveOn(HttpError):
    """
    This registry failed in a way that the next one may not: it could not
    be reached, or it is not ready.
    """

    def __init__(self, error: HttpError):
        super().__init__(error.status, error.message)


def _transport_failure(failure: Failure, what: str) -> Failure:
    outcome = transport_error(failure, what)
    if outcome.check(HttpError) and not failure.check(HttpError) and outcome.value.status == 503:
        return Failure(MoveOn(outcome.value))
    return outcome


def _not_ready(failure: Failure) -> Failure:
    error = failure.value
    if isinstance(error, HttpError) and error.status == 503 and NOT_READY in error.message:
        return Failure(MoveOn(error))
    return failure
