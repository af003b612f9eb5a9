# -*- test-case-name: tests.http.test_early_request -*-
"""
A request that lets its resource take the body while it arrives.

C{twisted.web}'s Site reads a whole request body (into memory, or a
temporary file above 100 kB) before it renders anything.  A proxy that
waits for that holds every upload and delays it by its full length; so the
registry's resource gets a look at each request as soon as its headers are
in, and may take the body chunk by chunk instead.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from twisted.web.server import Request
from zope.interface import Interface

from micro._http.channel import refuse
from micro._http.limits import IBodyLimit, too_large


class IBodyReceiver(Interface):
    """
    Takes a request body as it arrives.
    """

    def body_received(data: bytes) -> None:
        """
        A chunk of the body (after transfer decoding).
        """

    def body_done() -> None:
        """
        The whole body is in; the request is about to be rendered.
        """


class IStreamingResource(Interface):
    """
    A resource that may want request bodies as they arrive.
    """

    def receive_body(request: Any, method: bytes, uri: bytes, length: int | None) -> IBodyReceiver | None:
        """
        Called when the headers of C{request} are in.

        @param length: The body's length, or C{None} if it comes chunked.
        @return: Who takes the body, or C{None} to let the Site buffer it.
        """


class EarlyRequest(Request):
    """
    A Site request that offers its body to an L{IStreamingResource} root.

    @ivar body_receiver: Whoever took the body, or C{None}; the resource
        finds it here when the request is rendered.
    """

    body_receiver: Any = None
    _limit: int | None = None
    _received: int = 0
    _refused: bool = False

    def gotLength(self, length: int | None) -> None:
        self.body_receiver = None
        resource = getattr(getattr(self.channel, "site", None), "resource", None)
        channel: Any = self.channel
        if IBodyLimit.providedBy(resource):
            self._limit = resource.body_limit(channel._command, channel._path, self.requestHeaders)
            if self._limit is not None and length is not None and length > self._limit:
                self._refuse(self._limit)
                return
        if IStreamingResource.providedBy(resource):
            # The request line is parsed but only handed to the request once
            # the body is in; the channel holds it meanwhile.
            channel = self.channel
            receiver = resource.receive_body(self, channel._command, channel._path, length)
            if receiver is not None:
                self.body_receiver = receiver
                self.content = BytesIO()  # type: ignore[assignment]
                return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        if self._limit is not None:
            self._received += len(data)
            if self._received > self._limit:
                self._refuse(self._limit)
                return
        receiver = self.body_receiver
        if receiver is None:
            super().handleContentChunk(data)
        else:
            receiver.body_received(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._refused:
            return
        receiver = self.body_receiver
        if receiver is not None:
            receiver.body_done()
        super().requestReceived(command, path, version)

    def _refuse(self, limit: int) -> None:
        """
        Answer 413 and read no more of this request.  A route upstream that
        was already receiving the body sees this client's connection end.
        """
        self._refused = True
        self.content = BytesIO()  # type: ignore[assignment]
        refuse(self.channel, 413, b"Content Too Large", too_large(limit))
