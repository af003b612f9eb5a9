# -*- test-case-name: tests.cli.test_pubsub -*-
"""
Pub/sub from the shell: C{micro publish} and C{micro subscribe}.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.python import usage

from micro._cli.command import Command, arguments, count, payload, seconds
from micro._cli.output import OK, REMOTE_ERROR
from micro._cli.session import COMMAND_TIMEOUT, Session
from micro._kernel.channels import check_channel, check_pattern
from micro._kernel.config import check_service_url
from micro._kernel.errors import HttpError
from micro._kernel.protocol import DELIVERY_TIMEOUT, MAX_DELIVERY_TIMEOUT


def _channel(text: str | None, check: Any) -> str:
    try:
        return check(text)  # type: ignore[no-any-return]
    except HttpError as e:
        raise usage.UsageError(e.message) from None


class Publish(Command):
    """
    Publish a JSON message; print each handler's result and each error.
    """

    synopsis = "CHANNEL JSON [--timeout SECONDS]"
    longdesc = ("Publish a message (JSON text, @FILE or -) to CHANNEL through the registry, which delivers it "
                "to every subscriber at once. Prints each handler's result; each failed delivery goes to "
                "standard error with its status, and makes the exit status 1. Needs the registry token when "
                "the registry has one.")
    optParameters = [["timeout", "t", DELIVERY_TIMEOUT, "Seconds each subscriber has to answer.", seconds]]

    def parseArgs(self, *given: str) -> None:
        channel, text = arguments(given, "a CHANNEL and a JSON message", 2, 2)
        self.channel = _channel(channel, check_channel)
        self.message = payload(text)

    def postOptions(self) -> None:
        if self["timeout"] > MAX_DELIVERY_TIMEOUT:
            raise usage.UsageError(f"--timeout is at most {MAX_DELIVERY_TIMEOUT:g} seconds")

    async def run(self, session: Session) -> int:
        outcome = await session.command(
            "publish", {"channel": self.channel, "message": self.message, "timeout": self["timeout"]},
            timeout=self["timeout"] + COMMAND_TIMEOUT)
        results, errors = outcome.get("results", []), outcome.get("errors", [])
        out = session.out
        if self.json:
            out.document(outcome)
        else:
            out.note(f"{len(results)} results, {len(errors)} errors")
            if results:
                out.table(["SUBSCRIPTION", "LOCATION", "RESULT"],
                          [[r.get("subscription"), r.get("location"), json.dumps(r.get("result"))] for r in results])
        for error in errors:
            where = " at ".join(str(part) for part in (error.get("subscription"), error.get("location")) if part)
            out.error(f"{error.get('status')} from {where or 'a subscriber'}: {error.get('error')}")
        return REMOTE_ERROR if errors else OK


class Subscribe(Command):
    """
    Print the messages of a channel until Ctrl-C.
    """

    synopsis = "CHANNEL [--count N] [--home URL]"
    longdesc = ("Subscribe to CHANNEL ('orders.*': any one segment in place of *) and print each message as it "
                "arrives, until Ctrl-C (or --count messages); then unsubscribe and leave cleanly. The "
                "subscriber is an instance of this process, so the registry must be able to reach it: it "
                "listens on --home (default $MICRO_SERVICE_URL, else the registry's host). Needs the registry "
                "token when the registry has one.")
    optParameters = [
        ["count", "n", None, "Stop after this many messages.", count],
        ["home", None, None, "Base URL this subscriber listens on, like http://10.0.0.5 (a port is picked)."],
    ]

    def parseArgs(self, *given: str) -> None:
        (channel,) = arguments(given, "a CHANNEL", 1, 1)
        self.channel = _channel(channel, check_pattern)

    def postOptions(self) -> None:
        if self["home"] is not None:
            try:
                check_service_url(self["home"], "--home")
            except HttpError as e:
                raise usage.UsageError(e.message) from None

    async def run(self, session: Session) -> int:
        await session.command("health")  # a clear error, and the registry that answers, before hosting
        node = session.node(self["home"])
        out, limit = session.out, self["count"]
        enough: Deferred[None] = Deferred()
        received = 0

        def show(message: Any, ctx: Any) -> None:
            nonlocal received
            received += 1
            if self.json:
                out.document({"channel": ctx.channel, "message": message})
            else:
                out.line(f"{ctx.channel}  {json.dumps(message, ensure_ascii=False)}")
            if limit is not None and received >= limit and not enough.called:
                session.clock.callLater(0, enough.callback, None)  # after this delivery is answered

        try:
            pubsub = await node.create_pubsub_service()
            await pubsub.subscribe(self.channel, show)
            endpoint = node.pubsub.endpoint
            out.note(f"subscribed to {self.channel} at {endpoint.location if endpoint else '?'}; Ctrl-C to stop")
            try:
                await enough
            except CancelledError:
                pass
        finally:
            await node.terminate()
        out.note(f"{received} messages")
        return OK
