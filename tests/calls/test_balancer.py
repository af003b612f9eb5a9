"""
Round-robin with suspects.
"""

from __future__ import annotations

from twisted.internet.task import Clock

from micro._calls.balancer import RoundRobin

LOCS = ["http://h:1", "http://h:2", "http://h:3"]


def test_round_robin_per_service_starts_at_first() -> None:
    """
    Each service has its own rotation, starting with the first registered.
    """
    rr = RoundRobin(Clock())
    assert [rr.pick("a", LOCS) for _ in range(4)] == LOCS + LOCS[:1]
    assert rr.pick("b", LOCS[:2]) == LOCS[0]
    assert rr.pick("a", []) is None


def test_suspects_are_skipped_while_others_remain() -> None:
    """
    A suspect is avoided until it expires, unless nothing else is left.
    """
    clock = Clock()
    rr = RoundRobin(clock, suspect_for=5.0)
    rr.suspect(LOCS[0])
    assert [rr.pick("a", LOCS) for _ in range(4)] == [LOCS[1], LOCS[2], LOCS[1], LOCS[2]]
    assert rr.pick("a", LOCS[:1]) == LOCS[0]
    clock.advance(5.0)
    assert not rr.is_suspect(LOCS[0])


def test_registry_word_clears_suspicion() -> None:
    """
    When the registry's table touches a suspect, it is trusted again.
    """
    rr = RoundRobin(Clock())
    rr.suspect(LOCS[1])
    rr.confirmed([LOCS[1]])
    assert not rr.is_suspect(LOCS[1])


def test_exclusion_skips_tried_locations() -> None:
    """
    Locations already tried are never picked again for the same call.
    """
    rr = RoundRobin(Clock())
    assert rr.pick("a", LOCS, exclude=[LOCS[0], LOCS[1]]) == LOCS[2]
    assert rr.pick("a", LOCS, exclude=LOCS) is None
