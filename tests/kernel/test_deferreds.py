"""
Deferred helpers: observe, wait_at_most and Once, on a fake clock.
"""

from __future__ import annotations

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import Clock

from micro._kernel.deferreds import Once, observe, wait_at_most
from tests._helpers import failed, fired


def test_once_runs_its_work_once_and_every_caller_sees_the_outcome() -> None:
    """
    The first call starts the work; later calls share its outcome without starting it again.
    """
    started: list[int] = []
    gate: Deferred[None] = Deferred()

    async def work() -> str:
        started.append(1)
        await gate
        return "done"

    once = Once()
    assert not once.started
    first, second = once(work), once(work)
    assert once.started and started == [1]
    gate.callback(None)
    assert fired(first) == fired(second) == "done"
    assert fired(once(work)) == "done" and started == [1]


def test_cancelling_one_observer_leaves_the_work_alone() -> None:
    """
    A caller that gives up on its wait does not cancel the work the others wait for.
    """
    gate: Deferred[None] = Deferred()

    async def work() -> str:
        await gate
        return "done"

    once = Once()
    impatient, patient = once(work), once(work)
    impatient.cancel()
    assert isinstance(failed(impatient), CancelledError)
    gate.callback(None)
    assert fired(patient) == "done"


def test_observe_and_wait_at_most() -> None:
    """
    observe relays a result without touching the original chain; wait_at_most says whether it came in time.
    """
    clock = Clock()
    d: Deferred[int] = Deferred()
    seen = observe(d)
    d.callback(3)
    assert fired(seen) == 3 and fired(d) == 3
    slow: Deferred[None] = Deferred()
    waiting = Deferred.fromCoroutine(wait_at_most(clock, slow, 2.0))
    clock.advance(2.0)
    assert fired(waiting) is False


def test_a_latch_tells_its_waiters_once_and_later_ones_at_once() -> None:
    """
    Waiters before set() fire when it is called; waiters after it fire at once.
    """
    from micro._kernel.deferreds import Latch

    latch = Latch()
    early = latch.wait()
    assert not early.called and not latch.is_set
    latch.set()
    assert early.called and latch.is_set
    assert latch.wait().called


def test_a_loop_runs_until_stopped_and_cancels_what_it_waits_on() -> None:
    """
    stop() cancels the Deferred the loop waits on, ends it, and start() does not run a second copy.
    """
    from twisted.internet.defer import CancelledError, Deferred

    from micro._kernel.deferreds import Loop

    loop = Loop()
    rounds: list[str] = []

    async def run() -> None:
        while loop.running:
            loop.current = Deferred()
            rounds.append("waiting")
            try:
                await loop.current
            except CancelledError:
                rounds.append("cancelled")

    loop.start(run, lambda failure: None)
    loop.start(run, lambda failure: None)
    assert rounds == ["waiting"] and loop.running
    stopped = Deferred.fromCoroutine(loop.stop())
    assert stopped.called and rounds == ["waiting", "cancelled"] and not loop.running
