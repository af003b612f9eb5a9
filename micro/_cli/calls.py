# -*- test-case-name: tests.cli.test_calls -*-
"""
Calling the cluster: C{micro call} (a service, straight to an instance,
as C{call_service} does) and C{micro get|post|put|delete} (through the
registry's front door, as a browser or curl would).
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.python import usage
from twisted.web.http_headers import Headers

from micro._calls.caller import Caller
from micro._calls.decoding import decode_reply
from micro._cli.command import Command, arguments, not_negative, payload, seconds
from micro._cli.output import OK, REMOTE_ERROR
from micro._cli.session import Session
from micro._kernel.codec import JSON_TYPE, encode_value, error_from_reply
from micro._kernel.errors import HttpError, UnknownService
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._kernel.validation import check_service_name


async def call(session: Session, caller: Caller, service: str, body: bytes, content_type: bytes,
               timeout: float, retries: int = 0) -> Any:
    """
    One call of C{service} through C{caller}: its decoded result, or the
    L{HttpError} it failed with.
    """
    location = caller.pick(service)
    if location is None:
        raise UnknownService(service)
    reply = await caller.send(service, location, body, content_type, timeout, retries)
    return decode_reply(reply, f"service {service!r}")


class Call(Command):
    """
    Call a service with a JSON payload; print its result.
    """

    synopsis = "NAME [JSON | @FILE | -] [--timeout SECONDS] [--retries N]"
    longdesc = ("Call service NAME with a payload: JSON text, @FILE (a file of JSON) or - (JSON on standard "
                "input); none means null. The call goes straight to an instance, round-robin, and fails over "
                "to another when one cannot be reached, as call_service does. The result is printed as JSON; "
                "bytes are written to standard output as they are.")
    optParameters = [
        ["timeout", "t", DEFAULT_TIMEOUT, "Seconds the call may take, failovers included.", seconds],
        ["retries", None, 0, "Times to send the call again after an instance that may have run it failed.",
         not_negative],
    ]

    def parseArgs(self, *given: str) -> None:
        service, text = arguments(given, "NAME and an optional JSON payload", 1, 2)
        assert service is not None
        try:
            self.service = check_service_name(service)
        except HttpError as e:
            raise usage.UsageError(e.message) from None
        self.payload = payload(text)

    async def run(self, session: Session) -> int:
        body, content_type = encode_value(self.payload)
        caller = await session.caller()
        result = await call(session, caller, self.service, body, content_type, self["timeout"], self["retries"])
        if isinstance(result, bytes):
            session.out.raw(result)
        else:
            session.out.pretty(result)
        return OK


class FrontDoor(Command):
    """
    An HTTP request through the registry's routes.
    """

    method = b"GET"
    synopsis = "PATH [--header 'NAME: VALUE'] [--include]"
    optParameters = [["timeout", "t", DEFAULT_TIMEOUT, "Seconds to wait for the whole reply.", seconds]]
    optFlags = [["include", "i", "Print the status line and headers before the body."]]
    longdesc = ("Send a request to PATH at the registry, which routes it to a service. The body of the reply "
                "goes to standard output as it is; an error status exits with 1 and its message on standard "
                "error.")

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[tuple[bytes, bytes]] = []

    def opt_header(self, value: str) -> None:
        """
        A request header, like 'Accept: text/csv' (repeatable).
        """
        name, colon, text = value.partition(":")
        if not colon or not name.strip():
            raise usage.UsageError(f"a header is 'Name: value', not {value!r}")
        self.headers.append((name.strip().encode("latin-1", "replace"), text.strip().encode("utf-8")))

    opt_H = opt_header

    def parseArgs(self, *given: str) -> None:
        (path,) = arguments(given, "a PATH", 1, 1)
        assert path is not None
        if not path.startswith("/"):
            raise usage.UsageError(f"a path starts with '/', like /api/users; not {path!r}")
        self.path = path
        self.body: bytes | None = None

    async def run(self, session: Session) -> int:
        headers = Headers()
        for name, value in self.headers:
            headers.addRawHeader(name, value)
        reply = await session.front_door(self.method, self.path, self.body, headers, self["timeout"])
        out = session.out
        if self["include"]:
            out.raw(b"HTTP/1.1 %d\r\n" % reply.code + b"".join(
                name + b": " + value + b"\r\n" for name, values in reply.headers.getAllRawHeaders()
                for value in values) + b"\r\n")
        if reply.code >= 400:
            error = error_from_reply(reply.code, reply.body, reply.header(b"content-type"), "the front door")
            out.error(str(error))
            return REMOTE_ERROR
        out.raw(reply.body)
        if reply.body and not reply.body.endswith(b"\n") and out.interactive:
            out.raw(b"\n")
        return OK


class Get(FrontDoor):
    """
    GET a path through the front door.
    """

    method = b"GET"


class Delete(FrontDoor):
    """
    DELETE a path through the front door.
    """

    method = b"DELETE"


class Post(FrontDoor):
    """
    POST a body to a path through the front door.
    """

    method = b"POST"
    synopsis = "PATH [BODY | @FILE | -] [--content-type TYPE] [--header 'NAME: VALUE'] [--include]"
    optParameters = [["content-type", "T", None,
                      "Send the body (text, @FILE or - for standard input) as it is, with this content type. "
                      "Without it the body must be JSON and goes as application/json."]]

    def parseArgs(self, *given: str) -> None:
        path, text = arguments(given, "a PATH and an optional body", 1, 2)
        super().parseArgs(path or "")
        self.text = text

    def postOptions(self) -> None:
        text, kind = self.text, self["content-type"]
        if text is None:
            return
        if kind is None or kind.split(";")[0].strip().lower() == "application/json":
            self.body = encode_value(payload(text))[0]
            kind = kind or JSON_TYPE.decode()
        else:
            self.body = _raw(text)
        self.headers.append((b"content-type", kind.encode("latin-1")))


class Put(Post):
    """
    PUT a body to a path through the front door.
    """

    method = b"PUT"


def _raw(text: str) -> bytes:
    if text == "-":
        return sys.stdin.buffer.read()
    if text.startswith("@"):
        try:
            with open(text[1:], "rb") as f:
                return f.read()
        except OSError as e:
            raise usage.UsageError(f"cannot read {text[1:]}: {e.strerror}") from None
    return text.encode("utf-8")
