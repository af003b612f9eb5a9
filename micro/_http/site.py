# -*- test-case-name: tests.http.test_limits -*-
"""
The Site every micro server runs: its channels, its requests, its
connections.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakSet

from twisted.web.server import Site

from micro._http.channel import micro_channel_protocol
from micro._http.early_request import EarlyRequest
from micro._http.lean import LeanChannel
from micro._http.lean_request import ILeanResource
from micro._http.shared_replies import SharedReplies
from micro._kernel.protocol import IDLE_TIMEOUT


class MicroSite(Site):
    """
    A Site tuned for micro's traffic: no access log line per request, no
    parsing of POST bodies as HTML forms (micro never reads form fields, and
    the parsing is a visible share of an instance's CPU per call in
    bench/bench_calls.py), idle connections dropped after L{IDLE_TIMEOUT}, and every
    connection closed on demand when the server stops; large replies
    sent to many connections are held once (L{SharedReplies}).

    A root that is an L{ILeanResource} has its hot requests served by a
    L{LeanChannel}, which hands every other connection to the usual
    C{HTTPChannel}.
    """

    timeOut = IDLE_TIMEOUT
    noisy = False
    protocol = micro_channel_protocol
    # Lets a resource that asks for it take request bodies as they arrive.
    requestFactory = EarlyRequest

    def __init__(self, resource: Any, reactor: Any):
        try:
            super().__init__(resource, reactor=reactor, parsePOSTFormSubmission=False)
        except TypeError:  # Twisted before this option always parses forms.
            super().__init__(resource, reactor=reactor)
        self._connections: WeakSet[Any] = WeakSet()
        self._lean = ILeanResource.providedBy(resource)
        self.shared_replies = SharedReplies()

    def buildProtocol(self, addr: Any) -> Any:
        if self._lean:
            protocol = LeanChannel(self, addr, lambda: super(MicroSite, self).buildProtocol(addr))
            protocol.factory = self
        else:
            protocol = super().buildProtocol(addr)
        self._connections.add(protocol)
        return protocol

    def log(self, request: Any) -> None:
        pass

    def close_connections(self) -> None:
        """
        Close every open connection once what was written to it is sent.
        """
        for protocol in list(self._connections):
            # Site builds protocols that wrap the HTTPChannel; the
            # transport belongs to the channel.
            channel = getattr(protocol, "_channel", protocol)
            transport = getattr(channel, "transport", None)
            if transport is not None:
                transport.loseConnection()


def make_site(resource: Any, reactor: Any) -> MicroSite:
    return MicroSite(resource, reactor)
