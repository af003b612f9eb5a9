"""
Channel names and wildcard patterns.
"""

from __future__ import annotations

import pytest

from micro import HttpError
from micro._kernel.channels import check_channel, check_pattern, matches, segments


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


def test_bad_channels_are_python_errors_and_400s_alike() -> None:
    """
    A wrong type is a TypeError, a bad value a ValueError; both carry a 400 for the wire, same message.
    """
    with pytest.raises(TypeError) as wrong_type:
        check_channel(3)
    with pytest.raises(ValueError) as empty:
        check_channel("")
    assert isinstance(wrong_type.value, HttpError) and wrong_type.value.status == 400
    assert isinstance(empty.value, HttpError) and empty.value.status == 400
    assert str(empty.value) == empty.value.message == "channel must not be empty"
