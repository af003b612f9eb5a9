"""
The observer: statuses from outcomes, nothing built when nothing is
asked for, and what each switch turns on.
"""

from __future__ import annotations

from twisted.internet.defer import CancelledError
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from micro._kernel.errors import HttpError
from micro._kernel.observer import Observability, status_of
from micro._kernel.propagation import Propagation
from micro._observe.observer import MicroObserver


def test_statuses() -> None:
    """
    A result is 200, an HttpError its status, a cancellation 504, anything else 500.
    """
    assert status_of({"x": 1}) == 200 and status_of(None) == 200
    assert status_of(HttpError(404, "no")) == 404
    assert status_of(Failure(HttpError(403, "no"))) == 403
    assert status_of(Failure(CancelledError())) == 504
    assert status_of(Failure(KeyError("x"))) == 500


def test_nothing_asked_builds_nothing() -> None:
    """
    With nothing switched on there is no observer: the hot paths test None.
    """
    assert MicroObserver.build(Clock(), Observability(tracing=False)) is None
    assert MicroObserver.build(Clock(), Observability()) is None  # no tracer provider set in the suite


def test_calls_are_timed_on_the_clock() -> None:
    """
    A watched call records its duration on the injected clock, under its
    service and status; the propagation handed on is the one given.
    """
    clock = Clock()
    observer = MicroObserver.build(clock, Observability(metrics=True, tracing=False))
    assert observer is not None and observer.metrics is not None
    given = Propagation.new()
    watch = observer.calling("hello", given)
    assert watch.propagation is given
    clock.advance(0.25)
    assert watch.done("result") == "result"
    counts = observer.metrics.client.series[("hello", "200")]
    assert sum(counts[:-1]) == 1 and counts[-1] == 0.25
    server = observer.serving("hello", given)
    server.done(Failure(HttpError(409, "taken")))
    assert observer.metrics.server.count(("hello", "409")) == 1
    observer.failed_over("hello", "timeout", "http://x:1", given)
    assert observer.metrics.failovers.series == {("hello", "timeout"): 1}
    delivered = observer.delivery("news")
    assert delivered({"results": [], "errors": [{"status": 504}]}) == {"results": [], "errors": [{"status": 504}]}
    assert observer.metrics.deliveries.series == {("news", "timeout"): 1}
