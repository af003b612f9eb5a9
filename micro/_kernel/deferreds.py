# -*- test-case-name: tests.kernel.test_deferreds -*-
"""
Small Deferred helpers used across micro.
"""

from __future__ import annotations

from typing import Any, Callable, Coroutine, TypeVar

from attrs import define, field

from twisted.internet.defer import CancelledError, Deferred
from twisted.python.failure import Failure

T = TypeVar("T")


def observe(d: Deferred[T]) -> Deferred[T]:
    """
    A new Deferred with the result of C{d}, leaving C{d}'s own chain as it is.
    """
    observer: Deferred[T] = Deferred()

    def relay(result: Any) -> Any:
        if isinstance(result, Failure):
            observer.errback(result)
        else:
            observer.callback(result)
        return result

    d.addBoth(relay)
    return observer


def stop_timer(result: Any, timer: Any) -> Any:
    """
    A callback that cancels C{timer} if it has not fired, passing C{result} on.
    """
    if timer.active():
        timer.cancel()
    return result


def with_deadline(clock: Any, d: Deferred[T], timeout: float, expired: Callable[[], Exception]) -> Deferred[T]:
    """
    C{d}, cancelled after C{timeout} seconds, and then failed with
    C{expired()} rather than whatever the cancellation raised.
    """
    timer = clock.callLater(timeout, d.cancel)

    def done(result: Any) -> Any:
        if timer.active():
            timer.cancel()
        elif timer.called and isinstance(result, Failure):
            return Failure(expired())
        return result
    return d.addBoth(done)


async def wait_at_most(clock: Any, d: Deferred[Any], timeout: float) -> bool:
    """
    Wait for C{d}, cancelling it after C{timeout} seconds.

    @return: Whether C{d} fired in time.
    """
    timer = clock.callLater(timeout, d.cancel)
    try:
        await d
    except CancelledError:
        return False
    finally:
        stop_timer(None, timer)
    return True


@define
class Once:
    """
    Work done at most once, such as a C{terminate()}: the first call starts
    it, and every call gets its own observer of the outcome, so that a
    caller cancelling its wait does not cancel the work.
    """

    _outcome: Deferred[Any] | None = None

    @property
    def started(self) -> bool:
        return self._outcome is not None

    def __call__(self, start: Callable[[], Coroutine[Any, Any, T]]) -> Deferred[T]:
        if self._outcome is None:
            self._outcome = Deferred.fromCoroutine(start())
        return observe(self._outcome)


@define
class Latch:
    """
    Something that happens once (a table loaded for the first time): who
    waits before it is told when it happens; who waits after, at once.
    """

    is_set: bool = False
    _waiting: list[Deferred[None]] = field(factory=list)

    def wait(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if self.is_set:
            d.callback(None)
        else:
            self._waiting.append(d)
        return d

    def set(self) -> None:
        self.is_set = True
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(None)


@define
class Loop:
    """
    A coroutine that runs until it is stopped (a watch loop, a feed
    follower): it keeps what it waits on now in C{current}, which
    L{stop} cancels before it waits for the coroutine to end.
    """

    running: bool = False
    current: Deferred[Any] | None = None
    _done: Deferred[None] | None = None

    def start(self, run: Callable[[], Coroutine[Any, Any, None]], failed: Callable[[Failure], None]) -> None:
        if self.running:
            return
        self.running = True
        self._done = Deferred.fromCoroutine(run())
        self._done.addErrback(failed)

    async def stop(self) -> None:
        self.running = False
        if self.current is not None:
            self.current.cancel()
        if self._done is not None:
            await self._done
