"""
Channel names and wildcard patterns.
"""

from __future__ import annotations

import pytest

from micro import HttpError
from micro._kernel.channels import api_error, check_channel, check_pattern, matches, segments


@pytest.mark.parametrize("pattern, channel, expected", [
    ("orders.*", "orders.created", True),
    ("orders.*", "orders", False),
    ("orders.*", "orders.eu.created", False),
    ("*.created", "orders.created", True),
    ("*.created", "orders.paid", False),
    ("*", "anything", True),
    ("*", "a.b", False),
    ("a.*.c", "a.b.c", True),
])
def test_a_wildcard_stands_for_one_segment(pattern: str, channel: str, expected: bool) -> None:
    """
    '*' matches exactly one whole dot-separated segment.
    """
    assert matches(segments(pattern), channel.split(".")) is expected


def test_valid_names_pass_unchanged() -> None:
    """
    Ordinary channels and patterns are returned as they are.
    """
    assert check_channel("user:created.v2") == "user:created.v2"
    assert check_pattern("orders.*") == "orders.*"


def test_api_error_picks_the_python_exception() -> None:
    """
    A wrong type becomes TypeError, anything else ValueError, same message.
    """
    with pytest.raises(HttpError) as wrong_type:
        check_channel(3)
    with pytest.raises(HttpError) as empty:
        check_channel("")
    assert isinstance(api_error(wrong_type.value), TypeError)
    assert isinstance(api_error(empty.value), ValueError)
    assert str(api_error(empty.value)) == empty.value.message
