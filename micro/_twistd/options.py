# -*- test-case-name: tests.twistd.test_taps -*-
"""
Command-line values shared by the two twistd plugins: seconds, byte
counts, URLs and endpoints.
"""

from __future__ import annotations

import re
import sys
from typing import Callable, NoReturn

from twisted.python import usage

from micro._http.limits import MIB
from micro._kernel.errors import InvalidArgument
from micro._twistd.process import exit_with


def positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"{value!r} is not a positive number")
    return number


positive_float.coerceDoc = "A positive number of seconds."  # type: ignore[attr-defined]


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"{value!r} is not a positive whole number")
    return number


positive_int.coerceDoc = "A whole number, 1 or more."  # type: ignore[attr-defined]


def byte_count(value: str) -> int:
    """
    Parse a byte count for a command-line option: a positive integer,
    optionally with a K, M or G suffix (powers of 1024).
    """
    text = value.strip().upper()
    scale = {"K": 1024, "M": MIB, "G": 1024 * MIB}.get(text[-1:], 1)
    number = int(text[:-1] if scale > 1 else text)
    if number <= 0:
        raise ValueError(f"{value!r} is not a positive byte count")
    return number * scale


byte_count.coerceDoc = "Bytes; a K, M or G suffix multiplies by 1024, 1024**2, 1024**3."  # type: ignore[attr-defined]


def checked_url(program: str, check: Callable[[str, str], str], value: str, what: str) -> str:
    """
    C{value} if C{check} accepts it, else leave twistd with one line:
    C{twistd micro-service: --registry 'localhost:9999' must be ...}.
    """
    try:
        return check(value, what)
    except InvalidArgument as e:
        exit_with(f"{program}: {e}")


def listen_port(description: str) -> int | None:
    """
    The TCP port of a strports description (C{tcp:9999:interface=...},
    C{tcp:port=9999}, C{ssl:9999:...}), or C{None} if it names none.
    """
    kind, _, rest = description.partition(":")
    if kind not in ("tcp", "tcp6", "ssl"):
        return None
    for argument in re.split(r"(?<!\\):", rest):  # "\:" is a colon inside a value
        name, equals, value = argument.rpartition("=")
        if (not equals or name == "port") and value.isdigit():
            return int(value)
        if not equals:
            return None
    return None


def read_token_file(program: str, path: str) -> str:
    """
    The registry token in the file at C{path}, or leave twistd with one line.
    """
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError as e:
        exit_with(f"{program}: cannot read --token-file {path}: {e.strerror}")
    if not token:
        exit_with(f"{program}: --token-file {path} is empty")
    return token


class MicroOptions(usage.Options):
    """
    Options of a micro twistd command: C{--version} names micro's version
    (twistd's own names only Twisted's).
    """

    def opt_version(self) -> NoReturn:
        """
        Display micro's and Twisted's versions and exit.
        """
        import twisted

        from micro import __version__

        print(f"micro (txmicro) {__version__}, Twisted {twisted.__version__}")
        sys.exit(0)
