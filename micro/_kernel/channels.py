# -*- test-case-name: tests.kernel.test_channels -*-
"""
Pub/sub channel names and the wildcard patterns that subscriptions may use.

A channel is a non-empty string of printable characters without spaces,
read as dot-separated segments: C{"orders"}, C{"orders.eu.created"}.  A
subscription may use C{*} for one whole segment: C{"orders.*"} receives
C{"orders.created"} and C{"orders.paid"} but not C{"orders"} or
C{"orders.eu.created"}; C{"*.created"} receives C{"orders.created"}.
A message is always published to a concrete channel, without C{*}.
"""

from __future__ import annotations

from micro._kernel.errors import InvalidArgument, WrongType

MAX_CHANNEL_LENGTH = 256
WILDCARD = "*"


def _check_text(channel: object, what: str) -> str:
    if not isinstance(channel, str):
        raise WrongType(f"{what} must be a string, not {type(channel).__name__}")
    if not channel:
        raise InvalidArgument(f"{what} must not be empty")
    if len(channel) > MAX_CHANNEL_LENGTH:
        raise InvalidArgument(f"{what} {channel[:60]!r}... is longer than {MAX_CHANNEL_LENGTH} characters")
    if any(ord(c) < 33 or ord(c) == 127 for c in channel):
        raise InvalidArgument(f"{what} {channel[:100]!r} must not hold spaces or control characters")
    if any(not segment for segment in channel.split(".")):
        raise InvalidArgument(f"{what} {channel[:100]!r} has an empty segment (a leading, trailing or double '.')")
    return channel


def check_channel(channel: object) -> str:
    """
    Return C{channel} if it is a channel one may publish to, else raise L{InvalidArgument} (L{WrongType} for a non-string).
    """
    _check_text(channel, "channel")
    assert isinstance(channel, str)
    if WILDCARD in channel:
        raise InvalidArgument(f"cannot publish to {channel[:100]!r}: '*' is for subscriptions; "
                             "publish to a concrete channel")
    return channel


def check_pattern(pattern: object) -> str:
    """
    Return C{pattern} if one may subscribe to it, else raise L{InvalidArgument} (L{WrongType} for a non-string): a
    channel whose segments may be C{*}.
    """
    _check_text(pattern, "channel")
    assert isinstance(pattern, str)
    for segment in pattern.split("."):
        if WILDCARD in segment and segment != WILDCARD:
            raise InvalidArgument(f"channel {pattern[:100]!r}: '*' must stand for a whole segment, like 'orders.*'")
    return pattern


def is_wildcard(pattern: str) -> bool:
    return WILDCARD in pattern


def segments(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.split("."))


def matches(pattern_segments: tuple[str, ...], channel_segments: list[str] | tuple[str, ...]) -> bool:
    """
    Whether a wildcard pattern (split in segments) takes a channel (split too).
    """
    if len(pattern_segments) != len(channel_segments):
        return False
    return all(p == WILDCARD or p == c for p, c in zip(pattern_segments, channel_segments))
