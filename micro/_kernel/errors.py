# -*- test-case-name: tests.kernel.test_errors -*-
"""
The errors micro raises: L{HttpError}, the one that crosses service
boundaries, and the refusals of bad input, which are both what Python
code expects (C{ValueError}, C{TypeError}, C{LookupError}) and, on the
wire, the status they carry.
"""

from __future__ import annotations

import os
import traceback
from http import HTTPStatus


class HttpError(Exception):
    """
    An error with an HTTP status, raised by a service or by micro itself.

    Raised inside a service, it reaches the caller (through any number of
    hops) with the same C{status} and C{message}.

    @ivar status: An HTTP status code, 400 to 599.
    @ivar message: A human-readable explanation; by default the status's
        reason phrase (C{HttpError(404)}: C{"Not Found"}).
    @ivar traceback: The remote traceback text, only when the service runs
        with C{MICRO_ENV=development}; otherwise C{None}.
    """

    def __init__(self, status: int, message: str | None = None, *, traceback: str | None = None):
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"HttpError status must be an int from 400 to 599, not {status!r}")
        if message is None:
            message = _reason(status)
        super().__init__(status, message)
        self.status = status
        self.message = str(message)
        self.traceback = traceback

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"

    def __repr__(self) -> str:
        return f"HttpError({self.status!r}, {self.message!r})"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Error" if status < 500 else "Server Error"


# Users meet it as micro.HttpError: tracebacks and pytest reports say so.
HttpError.__module__ = "micro"


class _BadInput(HttpError):
    """
    Input micro refuses: a 400 on the wire, and to Python code just its message.
    """

    def __init__(self, message: str):
        super().__init__(400, message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidArgument(_BadInput, ValueError):
    """
    A value micro refuses: a C{ValueError} to Python code, a 400 on the wire.
    """


class WrongType(_BadInput, TypeError):
    """
    A value of the wrong type: a C{TypeError} to Python code, a 400 on the wire.
    """


class UnknownService(HttpError, LookupError):
    """
    No instance of the service is registered: a 404 naming it.
    """

    def __init__(self, service: str):
        super().__init__(404, f"no service named {service!r} is registered")
        self.service = service

    def __repr__(self) -> str:
        return f"UnknownService({self.service!r})"


def describe_error(error: BaseException) -> str:
    """
    One line about C{error} for a person: an L{HttpError} as its status and
    message; anything else as its type and text, with the file and line
    where it was raised (a traceback's most useful line).
    """
    if isinstance(error, HttpError):
        return str(error)
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, SyntaxError) and error.filename:
        return f"{text} ({_short_path(error.filename)}, line {error.lineno})"
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        return f"{text} ({_short_path(frames[-1].filename)}, line {frames[-1].lineno})"
    return text


def _short_path(path: str) -> str:
    """
    A file name relative to the current directory when it is below it.
    """
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def counted(count: int, noun: str) -> str:
    """
    C{"1 call"}, C{"2 calls"}: a count for a log line or a message.
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
