# -*- test-case-name: tests.kernel.test_errors -*-
"""
The one exception type that crosses service boundaries.
"""

from __future__ import annotations


class HttpError(Exception):
    """
    An error with an HTTP status, raised by a service or by micro itself.

    Raised inside a service, it reaches the caller (through any number of
    hops) with the same C{status} and C{message}.

    @ivar status: An HTTP status code, 400 to 599.
    @ivar message: A human-readable explanation.
    @ivar traceback: The remote traceback text, only when the service runs
        with C{MICRO_ENV=development}; otherwise C{None}.
    """

    def __init__(self, status: int, message: str, *, traceback: str | None = None):
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"HttpError status must be an int from 400 to 599, not {status!r}")
        super().__init__(status, message)
        self.status = status
        self.message = str(message)
        self.traceback = traceback

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"

    def __repr__(self) -> str:
        return f"HttpError({self.status!r}, {self.message!r})"
