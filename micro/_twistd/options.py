# -*- test-case-name: tests.twistd.test_taps -*-
"""
Command-line values shared by the two twistd plugins: seconds, byte
counts, URLs and endpoints.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Callable, NoReturn

from twisted.python import usage

from micro._http.limits import MIB
from micro._kernel.errors import InvalidArgument
from micro._kernel.observer import ACCESS_LOG_FORMATS, Observability
from micro._observe.exposition import MISSING, metrics_available
from micro._observe.logs import LEVELS, LOG_FORMATS, log_observer, parse_level
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


# What both commands can observe; the access log is of route traffic at a
# registry and of calls served by a service process.
OBSERVE_FLAGS = [
    ["metrics", None, "Serve Prometheus metrics at GET /_micro/metrics (pip install 'txmicro[metrics]')."],
    ["metrics-open", None, "Serve /_micro/metrics without the registry token even with MICRO_ENV=production."],
]


def observe_parameters(what: str) -> list[list[Any]]:
    return [
        ["access-log", None, None, f"Write a line per {what} to this file ('-': standard output). Off by default."],
        ["access-log-format", None, "combined",
         "combined (Apache's combined format, then duration, request id, trace id) or json."],
        ["log-level", None, None, f"Log events from this level on: {', '.join(LEVELS)}. "
                                  "Default: $MICRO_LOG_LEVEL, else info."],
        ["log-format", None, None, "text or json (one JSON object per line). Default: $MICRO_LOG_FORMAT, else text."],
    ]


def observe_options(program: str, options: usage.Options) -> None:
    """
    Check the observing options, put their L{Observability} in
    C{options["observability"]}, and make twistd log at the level and in
    the format asked for (it takes its log observer from C{--logger}).
    """
    if options["access-log-format"] not in ACCESS_LOG_FORMATS:
        raise usage.UsageError(f"--access-log-format must be one of {', '.join(ACCESS_LOG_FORMATS)}")
    if options["metrics"] and not metrics_available():
        exit_with(f"{program}: --metrics: {MISSING}")
    level_name = options["log-level"] or os.environ.get("MICRO_LOG_LEVEL") or "info"
    log_format = (options["log-format"] or os.environ.get("MICRO_LOG_FORMAT") or "text").strip().lower()
    try:
        level = parse_level(level_name)
    except ValueError as e:
        raise usage.UsageError(f"--log-level (or MICRO_LOG_LEVEL): {e}") from None
    if log_format not in LOG_FORMATS:
        raise usage.UsageError(f"--log-format (or MICRO_LOG_FORMAT) must be one of {', '.join(LOG_FORMATS)}")
    options["observability"] = Observability(metrics=options["metrics"], metrics_open=options["metrics-open"],
                                             access_log=options["access-log"],
                                             access_log_format=options["access-log-format"])
    parent: Any = getattr(options, "parent", None)
    if parent is not None and not parent.get("logger"):
        # twistd imports --logger by name once every option is parsed.
        _LOGGING[:] = [parent, level, log_format]
        parent["logger"] = f"{__name__}.twistd_log_observer"


_LOGGING: list[Any] = []


def twistd_log_observer() -> Any:
    """
    twistd's log destination (C{--logfile}, standard output by default
    with C{-n}) at the level and in the format the options asked for.
    """
    parent, level, log_format = _LOGGING
    path = parent.get("logfile")
    if not path or path == "-":
        out: Any = sys.stdout
    else:
        from twisted.python.logfile import LogFile

        out = LogFile.fromFullPath(path)
    return log_observer(out, level, log_format)
