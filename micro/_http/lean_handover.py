# -*- test-case-name: tests.http.test_lean -*-
"""
Lending a connection of a L{micro._http.lean.LeanChannel} to
C{twisted.web}'s C{HTTPChannel} for requests the lean channel leaves to
it, and taking it back once that channel is idle between requests: a
registry's health probe on a pooled connection must not leave the calls
and deliveries that later reuse it on the slow path.
"""

from __future__ import annotations

from typing import Any, Callable


class WebLoan:
    """
    A connection lent to C{twisted.web}: C{protocol} (the site's usual
    protocol) serves it until L{idle} says it may come back.
    """

    __slots__ = ("protocol", "_channel")

    def __init__(self, protocol: Any, on_done: Callable[[], None]):
        self.protocol = protocol
        # The HTTPChannel inside the site's protocol wrapper.
        channel = self._channel = getattr(protocol, "_channel", protocol)
        request_done = channel.requestDone

        def done(request: Any) -> None:
            request_done(request)
            on_done()
        channel.requestDone = done

    def start(self, transport: Any, data: bytes) -> None:
        """
        Connect the protocol, and give it what was read already.
        """
        self.protocol.makeConnection(transport)
        if data:
            self.protocol.dataReceived(data)

    def idle(self) -> bool:
        """
        Whether the channel is between requests, with nothing read of the
        next one, and will keep the connection open.
        """
        channel = self._channel
        try:
            return bool(channel.persistent and not channel.requests and not channel._handlingRequest
                        and not channel._dataBuffer and not channel._buffer and channel.line_mode
                        and channel._HTTPChannel__first_line == 1 and not channel._waitingForTransport
                        and not channel.transport.disconnecting)
        except AttributeError:  # a Twisted whose channel looks otherwise: keep lending
            return False

    def end(self) -> None:
        """
        Take the connection back: the channel stops timing it out and
        producing for it.
        """
        channel = self._channel
        channel.setTimeout(None)
        channel.transport.unregisterProducer()
