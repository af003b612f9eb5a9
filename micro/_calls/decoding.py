# -*- test-case-name: tests.node.test_node -*-
"""
Turning HTTP replies and transport failures into results and L{HttpError}s.
"""

from __future__ import annotations

from typing import Any

from twisted.python.failure import Failure

from micro._http.client import FullResponse
from micro._http.failures import Kind, classify
from micro._kernel.codec import MalformedBody, decode_result, error_from_reply
from micro._kernel.errors import HttpError


def decode_reply(reply: FullResponse, origin: str) -> Any:
    """
    The value a reply carries; an error status raises the L{HttpError} it
    describes.  C{origin} names the peer in messages.
    """
    content_type = reply.header(b"content-type")
    if reply.code >= 400:
        raise error_from_reply(reply.code, reply.body, content_type, origin)
    try:
        return decode_result(reply.body, content_type)
    except MalformedBody as e:
        raise HttpError(502, f"{origin} sent a malformed reply: {e}") from None


def transport_error(failure: Failure, what: str) -> Failure:
    """
    Pass an L{HttpError} or a cancellation on; turn a transport failure of
    C{what} into an L{HttpError}: 503 if nothing was sent, 504 on timeout,
    502 if the connection broke.
    """
    if failure.check(HttpError):
        return failure
    outcome = classify(failure)
    if outcome.kind is Kind.CANCELLED:
        return failure
    if outcome.kind is Kind.TIMED_OUT:
        return Failure(HttpError(504, f"{what} timed out"))
    status = 503 if outcome.kind is Kind.NOT_SENT else 502
    return Failure(HttpError(status, f"{what} failed: {outcome.detail}"))
