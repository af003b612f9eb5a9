"""
Putting one publisher's messages back in the order it numbered them.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.task import Clock

from micro._registry.pubsub.order import PublisherOrder


def _order(max_held: int = 1000) -> tuple[PublisherOrder, Clock, list[Any]]:
    clock = Clock()
    return PublisherOrder(clock, gap_timeout=1.0, max_held=max_held), clock, []


def _append(out: list[Any], value: Any) -> Callable[[], None]:
    return lambda: out.append(value)


def test_in_order_messages_go_straight_through() -> None:
    """
    Messages arriving in their numbering order are released at once.
    """
    order, clock, out = _order()
    for seq in (5, 6, 7):
        order.admit("p", seq, _append(out, seq))
    assert out == [5, 6, 7]
    assert clock.getDelayedCalls() == []


def test_early_message_waits_for_the_one_before_it() -> None:
    """
    3 arriving before 2 is held until 2 arrives; both then go in order.
    """
    order, clock, out = _order()
    order.admit("p", 1, lambda: out.append(1))
    order.admit("p", 3, lambda: out.append(3))
    order.admit("p", 4, lambda: out.append(4))
    assert out == [1]
    order.admit("p", 2, lambda: out.append(2))
    assert out == [1, 2, 3, 4]
    assert clock.getDelayedCalls() == []


def test_gap_is_given_up_after_the_timeout() -> None:
    """
    If 2 never arrives, 3 and 4 go after the gap timeout, in order; a late
    2 still goes through.
    """
    order, clock, out = _order()
    order.admit("p", 1, lambda: out.append(1))
    order.admit("p", 4, lambda: out.append(4))
    order.admit("p", 3, lambda: out.append(3))
    clock.advance(0.9)
    assert out == [1]
    clock.advance(0.1)
    assert out == [1, 3, 4]
    order.admit("p", 2, lambda: out.append(2))
    assert out == [1, 3, 4, 2]
    assert clock.getDelayedCalls() == []


def test_publishers_do_not_wait_for_each_other() -> None:
    """
    A gap in one publisher's numbers does not hold another publisher.
    """
    order, clock, out = _order()
    order.admit("a", 1, lambda: out.append(("a", 1)))
    order.admit("a", 3, lambda: out.append(("a", 3)))
    order.admit("b", 1, lambda: out.append(("b", 1)))
    order.admit("b", 2, lambda: out.append(("b", 2)))
    assert out == [("a", 1), ("b", 1), ("b", 2)]
    order.stop()
    assert out[-1] == ("a", 3)
    assert clock.getDelayedCalls() == []


def test_too_many_held_messages_skip_the_gap() -> None:
    """
    Holding is bounded: past max_held, the held messages go in order.
    """
    order, clock, out = _order(max_held=2)
    order.admit("p", 1, lambda: out.append(1))
    for seq in (3, 4, 5):
        order.admit("p", seq, _append(out, seq))
    assert out == [1, 3, 4, 5]


def test_forgetting_a_publisher_releases_what_it_held() -> None:
    """
    When the publishing node is gone, its held messages go, in order.
    """
    order, clock, out = _order()
    order.admit("p", 1, lambda: out.append(1))
    order.admit("p", 4, lambda: out.append(4))
    order.admit("p", 3, lambda: out.append(3))
    order.forget("p")
    assert out == [1, 3, 4]
    assert clock.getDelayedCalls() == []
