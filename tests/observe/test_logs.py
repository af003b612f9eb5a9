"""
Log output: levels by name, text or JSON lines with named fields.
"""

from __future__ import annotations

import io
import json

import pytest
from twisted.logger import Logger, LogLevel, LogPublisher

from micro._observe.logs import log_observer, parse_level


def test_levels_by_name() -> None:
    """
    The names twistd and MICRO_LOG_LEVEL take; a bad one says the good ones.
    """
    assert parse_level("INFO") is LogLevel.info and parse_level("warning") is LogLevel.warn
    with pytest.raises(ValueError, match="debug, info, warn, error, critical"):
        parse_level("loud")


def test_json_lines_carry_named_fields_and_filter_by_level() -> None:
    """
    One JSON object per event at or above the level, with its fields
    (request and trace ids) and a failure's traceback.
    """
    out = io.StringIO()
    publisher = LogPublisher(log_observer(out, LogLevel.info, "json"))
    log = Logger(namespace="micro.test", observer=publisher)
    log.debug("hidden")
    log.info("call to {service} failed (request {request_id})", service="hello", request_id="r-1")
    try:
        1 / 0
    except ZeroDivisionError:
        log.failure("crashed")
    first, second = [json.loads(line) for line in out.getvalue().splitlines()]
    assert first["message"] == "call to hello failed (request r-1)"
    assert (first["level"], first["namespace"], first["service"], first["request_id"]) == (
        "info", "micro.test", "hello", "r-1")
    assert second["level"] == "critical" and "ZeroDivisionError" in second["traceback"]


def test_text_lines() -> None:
    """
    Text is twistd's usual line.
    """
    out = io.StringIO()
    Logger(namespace="m", observer=LogPublisher(log_observer(out, LogLevel.warn))).warn("careful {x}", x=1)
    assert out.getvalue().rstrip().endswith("[m#warn] careful 1")
