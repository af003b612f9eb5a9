# -*- test-case-name: tests.cli.test_cache -*-
"""
C{micro cache get|set|del|keys}: the cache service's commands, as calls.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.python import usage

from micro._cli.calls import call
from micro._cli.command import Command, Group, arguments, count, payload, seconds
from micro._cli.output import OK
from micro._cli.session import Session
from micro._kernel.codec import encode_value
from micro._kernel.errors import HttpError
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._kernel.validation import check_service_name


class _CacheCommand(Command):
    optParameters = [["timeout", "t", DEFAULT_TIMEOUT, "Seconds the call may take.", seconds]]

    def cache_command(self) -> dict[str, Any]:
        raise NotImplementedError

    async def ask(self, session: Session) -> Any:
        service = self.parent["service"] if self.parent is not None else "cache"
        body, content_type = encode_value(self.cache_command())
        return await call(session, await session.caller(), service, body, content_type, self["timeout"])


class Get(_CacheCommand):
    """
    Print the value of a key (null if it is missing or expired).
    """

    synopsis = "KEY"
    longdesc = "Print the value of KEY as JSON; null if it is missing or expired."

    def parseArgs(self, *given: str) -> None:
        (self.key,) = arguments(given, "a KEY", 1, 1)
        if self.key == "*":
            raise usage.UsageError("'*' is not a key; 'micro cache keys' lists them")

    def cache_command(self) -> dict[str, Any]:
        return {"get": self.key}

    async def run(self, session: Session) -> int:
        session.out.pretty(await self.ask(session))
        return OK


class Set(_CacheCommand):
    """
    Set a key to a JSON value, with an optional time to live.
    """

    synopsis = "KEY JSON [--ttl MILLISECONDS]"
    longdesc = "Set KEY to a JSON value (text, @FILE or -); with --ttl it expires after that many milliseconds."
    optParameters = [["ttl", None, None, "Milliseconds until the key expires. Default: never.", count]]

    def parseArgs(self, *given: str) -> None:
        self.key, text = arguments(given, "a KEY and a JSON value", 2, 2)
        self.value = payload(text)

    def cache_command(self) -> dict[str, Any]:
        if self["ttl"] is None:
            return {"set": {self.key: self.value}}
        return {"setex": {self.key: self.value}, "ex": {self.key: self["ttl"]}}

    async def run(self, session: Session) -> int:
        reply = await self.ask(session)
        if self.json:
            session.out.document(reply)
        else:
            session.out.line(f"set {self.key}" + (f" for {self['ttl']} ms" if self["ttl"] else ""))
        return OK


class Delete(_CacheCommand):
    """
    Delete keys.
    """

    synopsis = "KEY [KEY ...]"
    longdesc = "Delete each KEY; print the keys that were there."

    def parseArgs(self, *given: str) -> None:
        if not given:
            raise usage.UsageError("expected one KEY or more")
        self.deleting = list(given)

    def cache_command(self) -> dict[str, Any]:
        return {"del": self.deleting}

    async def run(self, session: Session) -> int:
        deleted = (await self.ask(session)).get("del", [])
        if self.json:
            session.out.document({"deleted": deleted})
        else:
            for key in deleted:
                session.out.line(key)
        return OK


class Keys(_CacheCommand):
    """
    List the live keys.
    """

    synopsis = "[--values]"
    longdesc = "List every live key, one a line; with --values, each with its value."
    optFlags = [["values", "v", "Print each key's value too."]]

    def cache_command(self) -> dict[str, Any]:
        return {"get": "*"}

    async def run(self, session: Session) -> int:
        entries = await self.ask(session)
        if self.json:
            session.out.document(entries if self["values"] else sorted(entries))
        elif self["values"]:
            session.out.table(["KEY", "VALUE"], [[key, _json(value)] for key, value in sorted(entries.items())])
        else:
            for key in sorted(entries):
                session.out.line(key)
        return OK


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _service_name(text: str) -> str:
    try:
        return check_service_name(text)
    except HttpError as e:
        raise ValueError(e.message) from None


class Cache(Group):
    """
    The cache service's commands.
    """

    synopsis = "get KEY | set KEY JSON [--ttl MS] | del KEY... | keys [--values]"
    longdesc = "Read and change the cache service (micro.cache_service) through calls."
    optParameters = [["service", "s", "cache", "The name the cache service runs under.", _service_name]]
    subCommands = [
        ["get", None, Get, "Print the value of a key."],
        ["set", None, Set, "Set a key to a JSON value."],
        ["del", None, Delete, "Delete keys."],
        ["keys", None, Keys, "List the live keys."],
    ]
