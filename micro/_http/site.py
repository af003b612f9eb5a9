# -*- test-case-name: tests.http.test_limits -*-
"""
Small pieces shared by every micro HTTP resource.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakSet

from twisted.internet.defer import CancelledError
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.server import Site

from micro._http.channel import micro_channel_protocol
from micro._http.early_request import EarlyRequest
from micro._kernel.codec import JSON_TYPE, dumps, error_body
from micro._kernel.errors import HttpError
from micro._kernel.protocol import IDLE_TIMEOUT

_log = Logger()

def write_json(request: IRequest, value: Any, code: int = 200) -> bytes:
    """
    Set a JSON reply and return its body (for C{render} to return).
    """
    request.setResponseCode(code)
    request.setHeader(b"content-type", JSON_TYPE)
    return dumps(value)


def write_error(request: IRequest, error: HttpError, *, with_traceback: bool = False) -> bytes:
    """
    Set an error reply and return its JSON body.
    """
    request.setResponseCode(error.status)
    request.setHeader(b"content-type", JSON_TYPE)
    return error_body(error, with_traceback=with_traceback)


def internal_error(failure: Failure, request: IRequest, where: str) -> bytes | None:
    """
    Log an unexpected failure and answer a 500 that tells nothing of it.

    Returns C{None} when the client went away (the request was cancelled).
    """
    if failure.check(CancelledError):
        return None
    _log.failure("unexpected error in {where}", failure, where=where)
    return write_error(request, HttpError(500, f"internal error in {where}; see its log"))


class MicroSite(Site):
    """
    A Site tuned for micro's traffic: no access log line per request, no
    parsing of POST bodies as HTML forms (micro never reads form fields, and
    Twisted's content-type parsing was an eighth of an instance's CPU per
    call), idle connections dropped after L{IDLE_TIMEOUT}, and every
    connection closed on demand when the server stops.
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

    def buildProtocol(self, addr: Any) -> Any:
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
