# -*- test-case-name: tests.node.test_registry_client -*-
"""
Talking to the registry: one method per command.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.web.http_headers import Headers

from micro._calls.decoding import decode_reply, transport_error
from micro._http.client import HttpClient
from micro._kernel.codec import JSON_TYPE, dumps
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import DELIVERY_TIMEOUT, TOKEN_HEADER

COMMAND_TIMEOUT = 10.0
# How long a watch may wait for its answer before the first reply has said
# how long the registry holds watches; must exceed any registry's hold.
WATCH_TIMEOUT = 60.0


@define
class RegistryClient:
    """
    Send commands to the registry at C{url}, with the token if there is one.
    """

    _http: HttpClient
    url: str
    token: str | None = None
    timeout: float = COMMAND_TIMEOUT
    _headers: Headers = field(init=False)
    _url: bytes = field(init=False)

    def __attrs_post_init__(self) -> None:
        headers = Headers({b"content-type": [JSON_TYPE]})
        if self.token:
            headers.addRawHeader(TOKEN_HEADER, self.token.encode("utf-8"))
        self._headers = headers
        self._url = self.url.encode("utf-8")

    def command(self, name: str, argument: Any, timeout: float | None = None,
                propagation: Propagation | None = None) -> Deferred[Any]:
        """
        Run a command; fail with L{HttpError} for an error reply, 503 if the
        registry cannot be reached and 504 if it does not answer in time.

        @param propagation: The context of the request the command is part
            of, for those that pass it on (C{publish}).
        """
        headers = self._headers
        if propagation is not None:
            headers = headers.copy()
            for header, value in propagation.headers().items():
                headers.setRawHeaders(header, [value])
        d = self._http.request(b"POST", self._url, dumps({name: argument}), headers, timeout or self.timeout)
        return d.addCallbacks(decode_reply, transport_error, callbackArgs=(f"registry ({name})",),
                              errbackArgs=(f"registry command {name} at {self.url}",))

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
        Watch the table from C{version} on, reporting the node's call
        counts (C{stats}) if they changed.
        """
        argument: dict[str, Any] = {"node": node, "epoch": epoch, "version": version}
        if stats is not None:
            argument["stats"] = stats
        return self.command("watch", argument, timeout=timeout)

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
