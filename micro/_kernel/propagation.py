# -*- test-case-name: tests.kernel.test_propagation -*-
"""
What travels with a request from hop to hop: today its request id (a
correlation id), tomorrow the W3C trace context too.

One mechanism carries it everywhere, and whatever joins it later travels
the same way:

  - A request that enters the cluster brings a L{Propagation} in its
    headers (L{Propagation.from_headers}), or gets a new one where it
    enters without: at the registry's route proxy (the front door), in
    C{call_service} and C{publish} called outside any request, and at an
    instance answering a request that came without one.
  - The handler's C{ctx} holds it (C{ctx.request_id}); C{ctx.call} and
    C{ctx.publish} hand it on.  Every outgoing request copies its
    L{Propagation.headers}; a pub/sub message, which the registry may
    batch with others into one delivery, carries them in its envelope as
    text (L{Propagation.text_headers}, read back with
    L{Propagation.from_text_headers}).
  - micro's log lines about the request name its id.

W3C C{traceparent}/C{tracestate} join as fields of L{Propagation}, entries
of L{Propagation.headers} and of L{Propagation.from_headers}; nothing on
the way has to change.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Mapping

from attrs import frozen

from micro._kernel.protocol import REQUEST_ID_HEADER

# What a request id from outside may be: visible ASCII, at most 128
# characters; anything else is replaced by a new id, not passed on.
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
_REQUEST_ID_NAME = REQUEST_ID_HEADER.decode("ascii")


def new_request_id() -> str:
    """
    A new request id: 32 hex digits, random.
    """
    return os.urandom(16).hex()


def _valid(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value if isinstance(value, str) and _REQUEST_ID.fullmatch(value) else None


@frozen
class Propagation:
    """
    The context a request carries through the cluster.

    @ivar request_id: The correlation id of the request.
    """

    request_id: str

    @classmethod
    def new(cls) -> Propagation:
        return cls(new_request_id())

    @classmethod
    def from_headers(cls, header: Callable[[bytes], bytes | str | None]) -> Propagation:
        """
        The context of an incoming request, from C{header(name)} (like
        C{request.getHeader}); what is missing or malformed is made new.
        """
        return cls(_valid(header(REQUEST_ID_HEADER)) or new_request_id())

    @classmethod
    def from_text_headers(cls, headers: Any) -> Propagation:
        """
        The context in headers as text (lower-case names), as a pub/sub
        message's envelope carries them in C{"headers"}.
        """
        found = headers.get(_REQUEST_ID_NAME) if isinstance(headers, Mapping) else None
        return cls(_valid(found) or new_request_id())

    def headers(self) -> dict[bytes, bytes]:
        """
        The headers that carry this context on an outgoing request.
        """
        return {REQUEST_ID_HEADER: self.request_id.encode("ascii")}

    def text_headers(self) -> dict[str, str]:
        """
        The same headers as text, with lower-case names: what a pub/sub
        envelope and C{ctx.request.headers} hold.
        """
        return {_REQUEST_ID_NAME: self.request_id}
