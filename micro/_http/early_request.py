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

from micro._http.channel import MicroChannel, refuse
from micro._http.limits import FIRST_KEY_WITHIN, FirstKeyLimit, IBodyLimit, too_large
from micro._http.shared_replies import SHARED_FROM


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
    A Site request that offers its body to an L{IStreamingResource} root,
    and refuses a body over its root's L{IBodyLimit} with a 413 as soon as
    its declared length or the bytes received so far pass it, before it is
    buffered.

    @ivar body_receiver: Whoever took the body, or C{None}; the resource
        finds it here when the request is rendered.
    """

    body_receiver: Any = None
    _limit: int | None = None
    # A limit that the first bytes of the body choose, until they are in.
    _choosing: FirstKeyLimit | None = None
    _chose_smaller: FirstKeyLimit | None = None
    _prefix: bytes = b""
    _declared: int | None = None
    _received: int = 0
    _refused: bool = False

    def gotLength(self, length: int | None) -> None:
        self.body_receiver = None
        resource = getattr(getattr(self.channel, "site", None), "resource", None)
        channel: Any = self.channel
        if IBodyLimit.providedBy(resource):
            limit = resource.body_limit(channel._command, channel._path, self.requestHeaders)
            if isinstance(limit, FirstKeyLimit):
                if length is not None and length <= limit.limit:
                    limit = limit.limit
                else:
                    self._choosing, self._declared, limit = limit, length, limit.larger
            self._limit = limit
            if limit is not None and length is not None and length > limit:
                self._refuse(too_large(limit))
                return
        if IStreamingResource.providedBy(resource):
            # The request line is parsed but only handed to the request once
            # the body is in; the channel holds it meanwhile.
            receiver = resource.receive_body(self, channel._command, channel._path, length)
            if receiver is not None:
                self.body_receiver = receiver
                self.content = BytesIO()  # type: ignore[assignment]
                return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        if self._choosing is not None:
            self._choose(data)
            if self._refused:
                return
        if self._limit is not None:
            self._received += len(data)
            if self._received > self._limit:
                chooser = self._chose_smaller
                self._refuse(too_large(self._limit) if chooser is None else chooser.refusal(self._limit, None))
                return
        receiver = self.body_receiver
        if receiver is None:
            super().handleContentChunk(data)
        else:
            receiver.body_received(data)

    def _choose(self, data: bytes) -> None:
        """
        Look at the body's first bytes until they choose its limit; refuse
        at once if its declared length is over the limit they chose.
        """
        choosing = self._choosing
        assert choosing is not None
        if len(self._prefix) < FIRST_KEY_WITHIN:
            self._prefix += data[:FIRST_KEY_WITHIN]
        if not choosing.decides(self._prefix) and self._received + len(data) <= choosing.limit:
            return
        limit = self._limit = choosing.limit_for(self._prefix)
        self._choosing, self._prefix = None, b""
        if limit == choosing.limit:
            self._chose_smaller = choosing
            if self._declared is not None and self._declared > limit:
                self._refuse(choosing.refusal(limit, self._declared))

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._refused:
            return
        receiver = self.body_receiver
        if receiver is not None:
            receiver.body_done()
        super().requestReceived(command, path, version)

    def write(self, data: bytes) -> None:
        """
        Write a large first body joined to its head, shared with the other
        connections sending the same (L{micro._http.shared_replies}).
        """
        channel = self.channel
        if self.startedWriting or len(data) < SHARED_FROM or not isinstance(channel, MicroChannel):
            super().write(data)
        else:
            channel.write_shared(super().write, data)

    def _refuse(self, message: str) -> None:
        """
        Answer 413 and read no more of this request.  A route upstream that
        was already receiving the body sees this client's connection end.
        """
        self._refused = True
        self.content = BytesIO()  # type: ignore[assignment]
        refuse(self.channel, 413, b"Content Too Large", message)
