# -*- test-case-name: tests.observe.test_logs -*-
"""
Where a process's log events go and how they look: a level below which
nothing is written, and text lines (twistd's) or JSON lines, one object
per event with its named fields (request and trace ids among them).

Used by C{micro.run} and the C{micro} command (standard error), and by
the twistd commands (C{--log-level}, C{--log-format}, C{MICRO_LOG_LEVEL},
C{MICRO_LOG_FORMAT}), which replace twistd's own observer with one of these.
"""

from __future__ import annotations

import json
import time
from typing import IO, Any

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
    textFileLogObserver,
)
from zope.interface import provider

LOG_FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warn", "error", "critical")


def parse_level(name: str) -> LogLevel:
    """
    The level a name gives (C{"warning"} for C{"warn"} too).

    @raise ValueError: It names no level.
    """
    text = name.strip().lower()
    text = {"warning": "warn", "fatal": "critical"}.get(text, text)
    try:
        level: LogLevel = LogLevel.levelWithName(text)
        return level
    except Exception:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {name!r}") from None


def log_observer(out: IO[str], level: LogLevel, log_format: str = "text") -> ILogObserver:
    """
    An observer writing events of C{level} and above to C{out}.
    """
    inner = json_lines_observer(out) if log_format == "json" else textFileLogObserver(out)
    return FilteringLogObserver(inner, [LogLevelFilterPredicate(level)])


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def json_lines_observer(out: IO[str]) -> ILogObserver:
    """
    One JSON object per event: time, level, namespace, the formatted
    message, its named fields that are plain values, and the traceback of
    a failure.
    """
    @provider(ILogObserver)
    def observe(event: dict[str, Any]) -> None:
        stamp = event.get("log_time") or time.time()
        record: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1000):03d}Z",
            "level": event["log_level"].name if "log_level" in event else "info",
            "namespace": event.get("log_namespace"),
            "message": formatEvent(event),
        }
        for key, value in event.items():
            if not key.startswith("log_") and key not in record and key != "format" and _jsonable(value):
                record[key] = value
        failure = event.get("log_failure")
        if failure is not None:
            record["traceback"] = failure.getTraceback()
        out.write(json.dumps(record, default=str) + "\n")
        out.flush()
    return observe  # type: ignore[no-any-return]
