# -*- test-case-name: tests.kernel.test_propagation -*-
"""
What travels with a request from hop to hop: its request id (a
correlation id) and its W3C trace context (C{traceparent}, C{tracestate}).

One mechanism carries it everywhere:

  - A request that enters the cluster brings a L{Propagation} in its
    headers (L{Propagation.from_headers}), or gets a new one where it
    enters without: at the registry's route proxy (the front door), in
    C{call_service} and C{publish} called outside any request, and at an
    instance answering a request that came without one.
  - The handler's C{ctx} holds it (C{ctx.request_id}, C{ctx.trace_id});
    C{ctx.call} and C{ctx.publish} hand it on.  Every outgoing request
    copies its L{Propagation.headers}; a pub/sub message, which the
    registry may batch with others into one delivery, carries them in its
    envelope as text (L{Propagation.text_headers}, read back with
    L{Propagation.from_text_headers}).
  - micro's log lines about the request name its request id and trace id.

The trace context travels whether or not OpenTelemetry is installed: a
process that records no span passes C{traceparent} on unchanged, so a
trace begun in another language's service is not cut.  Where micro starts
a request it also starts its trace: the new trace id is the new request
id (both 32 random hex digits), under a parent id that no span recorded
(L{Propagation.made_here}).  A process that records spans (see
L{micro._observe.tracing}) replaces the parent id with its own span's and
keeps that span in L{Propagation.span}, so that C{ctx} carries the span
itself across callbacks rather than relying on an implicit context.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Mapping

from attrs import field, frozen

from micro._kernel.protocol import REQUEST_ID_HEADER, TRACEPARENT_HEADER, TRACESTATE_HEADER

# What a request id from outside may be: visible ASCII, at most 128
# characters; anything else is replaced by a new id, not passed on.
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
_REQUEST_ID_NAME = REQUEST_ID_HEADER.decode("ascii")
_TRACEPARENT_NAME = TRACEPARENT_HEADER.decode("ascii")
_TRACESTATE_NAME = TRACESTATE_HEADER.decode("ascii")

# W3C Trace Context, level 1: version-traceid-parentid-flags in lower-case
# hex.  A later version may append fields, which are dropped when passed on
# as version 00; version ff is invalid, and so are all-zero ids.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?")
_ZERO_TRACE, _ZERO_PARENT = "0" * 32, "0" * 16
# tracestate is opaque to micro: passed on when it is printable ASCII of a
# sane length (the specification's 32 entries of at most 256 characters
# are far more than any vendor sends), dropped otherwise.
_TRACESTATE = re.compile(r"[\x20-\x7e]{1,512}")
# Trace flags micro sets on a trace it starts: sampled, so that a process
# that records spans downstream records this trace.
SAMPLED = "01"


def new_request_id() -> str:
    """
    A new request id: 32 hex digits, random.
    """
    return os.urandom(16).hex()


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def _valid(value: Any) -> str | None:
    value = _text(value)
    return value if value is not None and _REQUEST_ID.fullmatch(value) else None


def valid_traceparent(value: Any) -> str | None:
    """
    C{value} as a version-00 C{traceparent} if it is a valid one (of any
    version but ff), else C{None}.
    """
    value = _text(value)
    if value is None:
        return None
    found = _TRACEPARENT.fullmatch(value.strip())
    if found is None:
        return None
    version, trace_id, parent_id, flags, rest = found.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE or parent_id == _ZERO_PARENT:
        return None
    return f"00-{trace_id}-{parent_id}-{flags}"


def _valid_tracestate(values: Any) -> str | None:
    value = _text(values)
    return value if value is not None and _TRACESTATE.fullmatch(value) else None


def _started(request_id: str | None) -> tuple[str, str]:
    """
    A request id (the one given, or a new one) and a traceparent that
    starts a trace: its trace id is the request id when micro made both.
    """
    made = os.urandom(24).hex()
    if request_id is None:
        return made[:32], f"00-{made[:32]}-{made[32:]}-{SAMPLED}"
    return request_id, f"00-{made[:32]}-{made[32:]}-{SAMPLED}"


@frozen
class Propagation:
    """
    The context a request carries through the cluster.

    @ivar request_id: The correlation id of the request.
    @ivar traceparent: Its W3C C{traceparent}: the trace it belongs to and
        the span the next hop is a child of.
    @ivar tracestate: Its W3C C{tracestate}, passed on as it came.
    @ivar made_here: Whether micro started this trace here, with no span
        behind the parent id (a span recorded now should be a root).
    @ivar span: The span this process records for the request, if any (an
        OpenTelemetry span); never sent, never compared.
    """

    request_id: str
    traceparent: str | None = None
    tracestate: str | None = None
    made_here: bool = False
    span: Any = field(default=None, eq=False, repr=False)

    @classmethod
    def new(cls) -> Propagation:
        request_id, traceparent = _started(None)
        return cls(request_id, traceparent, None, True)

    @classmethod
    def _of(cls, request_id: Any, traceparent: Any, tracestate: Any) -> Propagation:
        parent = valid_traceparent(traceparent)
        if parent is None:
            rid, made = _started(_valid(request_id))
            return cls(rid, made, None, True)
        return cls(_valid(request_id) or new_request_id(), parent, _valid_tracestate(tracestate))

    @classmethod
    def from_headers(cls, header: Callable[[bytes], bytes | str | None]) -> Propagation:
        """
        The context of an incoming request, from C{header(name)} (like
        C{request.getHeader}); what is missing or malformed is made new.
        """
        return cls._of(header(REQUEST_ID_HEADER), header(TRACEPARENT_HEADER), header(TRACESTATE_HEADER))

    @classmethod
    def from_text_headers(cls, headers: Any) -> Propagation:
        """
        The context in headers as text (lower-case names), as a pub/sub
        message's envelope carries them in C{"headers"}.
        """
        if not isinstance(headers, Mapping):
            return cls.new()
        return cls._of(headers.get(_REQUEST_ID_NAME), headers.get(_TRACEPARENT_NAME), headers.get(_TRACESTATE_NAME))

    @property
    def trace_id(self) -> str:
        """
        The id of the trace (32 hex digits), or C{"-"} if there is none.
        """
        return self.traceparent[3:35] if self.traceparent else "-"

    def with_span(self, traceparent: str, span: Any) -> Propagation:
        """
        This context as seen from a span recorded here: the next hop is
        its child.
        """
        return Propagation(self.request_id, traceparent, self.tracestate, False, span)  # evolve() costs 3x

    def headers(self) -> dict[bytes, bytes]:
        """
        The headers that carry this context on an outgoing request.
        """
        headers = {REQUEST_ID_HEADER: self.request_id.encode("ascii")}
        if self.traceparent is not None:
            headers[TRACEPARENT_HEADER] = self.traceparent.encode("ascii")
            if self.tracestate is not None:
                headers[TRACESTATE_HEADER] = self.tracestate.encode("ascii")
        return headers

    def text_headers(self) -> dict[str, str]:
        """
        The same headers as text, with lower-case names: what a pub/sub
        envelope and C{ctx.request.headers} hold.
        """
        headers = {_REQUEST_ID_NAME: self.request_id}
        if self.traceparent is not None:
            headers[_TRACEPARENT_NAME] = self.traceparent
            if self.tracestate is not None:
                headers[_TRACESTATE_NAME] = self.tracestate
        return headers
