# -*- test-case-name: tests.twistd.test_taps -*-
"""
Option handling shared by the two twistd plugins.
"""

from __future__ import annotations

from typing import Any, NoReturn

from twisted.python import usage


def positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"{value!r} is not a positive number")
    return number


positive_float.coerceDoc = "A positive number of seconds."  # type: ignore[attr-defined]


def run_without_pidfile_in_foreground(options: usage.Options) -> None:
    """
    With C{twistd -n}, drop twistd's default pidfile (C{twistd.pid} in the
    current directory) so that a registry and services can run side by
    side from one directory.  An explicit C{--pidfile} is kept.
    """
    parent: Any = getattr(options, "parent", None)
    if parent is None:
        return
    if parent.get("nodaemon") and parent.get("pidfile") == "twistd.pid":
        parent["pidfile"] = ""


def exit_with(message: str) -> NoReturn:
    """
    Leave twistd with one line on standard error and status 1, instead of
    a usage dump or a traceback.
    """
    raise SystemExit(message)
