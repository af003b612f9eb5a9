"""
Watches are answered when their hold ends, by one timer for all of them.
"""

from __future__ import annotations

from attrs import define
from twisted.internet.task import Clock

from micro._registry.hold_sweep import HoldSweep
from micro._registry.state import RegistryState
from micro._registry.watch_hub import WatchHub


@define
class _Held:
    name: str
    deadline: float


def _sweep(clock: Clock) -> tuple[dict[str, _Held], list[str], HoldSweep[_Held]]:
    pending: dict[str, _Held] = {}
    expired: list[str] = []

    def expire(held: _Held) -> None:
        expired.append(held.name)
        del pending[held.name]

    return pending, expired, HoldSweep(clock, pending, expire)


def test_each_watch_ends_at_its_deadline_with_one_timer() -> None:
    clock = Clock()
    pending, expired, sweep = _sweep(clock)
    for i in range(5):  # w0 .. w4 due at 2.0, 2.4, 2.8, 3.2, 3.6
        pending[f"w{i}"] = _Held(f"w{i}", clock.seconds() + 2.0)
        sweep.arm()
        assert len(clock.getDelayedCalls()) == 1
        clock.advance(0.4)
    assert expired == ["w0"]  # t=2.0
    clock.advance(0.5)  # t=2.5
    assert expired == ["w0", "w1"]
    clock.advance(0.5)  # t=3.0
    assert expired == ["w0", "w1", "w2"]
    clock.advance(10.0)
    assert expired == ["w0", "w1", "w2", "w3", "w4"] and not clock.getDelayedCalls()


def test_a_watch_taken_out_early_does_not_end_the_others_early() -> None:
    clock = Clock()
    pending, expired, sweep = _sweep(clock)
    pending["a"] = _Held("a", 1.0)
    sweep.arm()
    pending["b"] = _Held("b", 2.0)
    sweep.arm()
    del pending["a"]  # answered by a change
    clock.advance(1.0)
    assert expired == [] and len(clock.getDelayedCalls()) == 1
    clock.advance(1.0)
    assert expired == ["b"]


def test_an_expire_that_leaves_the_watch_in_does_not_loop() -> None:
    clock = Clock()
    pending: dict[str, _Held] = {"a": _Held("a", 1.0)}
    seen: list[str] = []
    sweep = HoldSweep(clock, pending, lambda held: seen.append(held.name))
    sweep.arm()
    clock.advance(1.0)
    assert seen == ["a"] and not pending


def test_the_hub_keeps_no_timer_per_watch() -> None:
    """
    However many nodes watch, the hub holds one timer for their holds (a
    DelayedCall per watch was a share of the registry's memory per node).
    """
    clock = Clock()
    registry = RegistryState(clock, ttl=4.0, recovering_for=0.0)
    hub = WatchHub(registry, clock, hold=2.0)
    registry.leases.stop()  # leave only the hub's timers
    counts = []
    for n in (10, 200):
        for i in range(n):
            hub.watch(f"n{i}", "", -1)
            hub.watch(f"n{i}", registry.epoch, registry.version)
        counts.append(len([c for c in clock.getDelayedCalls() if c.func.__self__ is not registry.leases]))
    assert hub.watching() == 200 and counts == [1, 1]
    clock.advance(2.0)
    assert hub.watching() == 0
    hub.stop()
