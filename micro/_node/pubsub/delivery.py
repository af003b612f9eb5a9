# -*- test-case-name: tests.node.pubsub.test_subscriber -*-
"""
The delivery endpoint, C{POST /_micro/deliver} on a process's instances:
checking who sends, decoding the batch, encoding the outcomes.
"""

from __future__ import annotations

import hmac
from typing import Any

from twisted.internet.defer import Deferred
from twisted.web.iweb import IRequest

from micro._http.respond import internal_error, respond, write_error, write_json
from micro._kernel.codec import MalformedBody, dumps, loads
from micro._kernel.deferreds import observe
from micro._kernel.errors import HttpError
from micro._kernel.protocol import TOKEN_HEADER
from micro._node.pubsub.local import LocalSubscriptions


def check_token(request: IRequest, token: str | None) -> None:
    """
    With a registry token configured, only the registry (which shows it)
    may deliver: 401 without the token, 403 with a wrong one.
    """
    if token is None:
        return
    offered = request.getHeader(TOKEN_HEADER)
    if offered is None:
        raise HttpError(401, "deliveries need the registry token (header Micro-Registry-Token)")
    if not hmac.compare_digest(offered.encode("latin-1") if isinstance(offered, str) else offered,
                               token.encode("utf-8")):
        raise HttpError(403, "delivery refused: wrong registry token")


def parse_batch(body: bytes) -> list[dict[str, Any]]:
    """
    The messages of a delivery: C{{"messages": [{"channel", "message",
    "seq", "epoch"}, ...]}}.
    """
    try:
        document = loads(body)
    except MalformedBody as e:
        raise HttpError(400, f"malformed delivery: {e}") from None
    messages = document.get("messages") if isinstance(document, dict) else None
    if not isinstance(messages, list):
        raise HttpError(400, 'a delivery is {"messages": [...]}')
    for envelope in messages:
        if not (isinstance(envelope, dict) and isinstance(envelope.get("channel"), str)
                and isinstance(envelope.get("seq"), int) and isinstance(envelope.get("epoch"), str)
                and "message" in envelope):
            raise HttpError(400, "each delivered message needs channel, message, seq and epoch")
    return messages


def serve_delivery(request: IRequest, local: LocalSubscriptions, location: str, token: str | None) -> Any:
    """
    Answer a delivery with C{{"replies": [outcome per message]}}.
    """
    try:
        check_token(request, token)
        messages = parse_batch(request.content.read())
    except HttpError as e:
        return write_error(request, e)
    replies = local.deliver(messages, location)
    if isinstance(replies, Deferred):
        # The registry dropping the request (its deadline passed) must not
        # cancel handlers halfway: a message handed over runs to the end.
        replies = observe(replies)
    return respond(request, replies, lambda done: _write(done, request),
                   lambda failure: internal_error(failure, request, "the delivery endpoint"), "the delivery endpoint")


def _write(replies: list[dict[str, Any]], request: IRequest) -> bytes:
    try:
        return write_json(request, {"replies": replies})
    except TypeError:
        return write_json(request, {"replies": [_sendable(outcome) for outcome in replies]})


def _sendable(outcome: dict[str, Any]) -> dict[str, Any]:
    """
    Replace results that JSON cannot carry with errors saying so.
    """
    results, errors = [], list(outcome["errors"])
    for entry in outcome["results"]:
        try:
            dumps(entry)
        except TypeError as e:
            errors.append({"subscription": entry["subscription"], "location": entry["location"], "status": 500,
                           "error": f"handler returned a value that cannot be sent: {e}"})
            continue
        results.append(entry)
    return {"results": results, "errors": errors}
