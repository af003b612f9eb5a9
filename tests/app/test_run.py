"""
micro.run's lifecycle, on a fake reactor: how main ends and how a signal
(the reactor's "before shutdown" event) stops it.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.testing import MemoryReactorClock

import micro
from micro._app import default as _default
from micro._app import run as _run


@pytest.fixture
def reactor(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryReactorClock]:
    # Unit tests must not replace the test process's signal handlers.
    monkeypatch.setattr(_run, "ignore_repeated_signals", lambda reactor: None)
    monkeypatch.setenv("MICRO_REGISTRY_URL", "http://127.0.0.1:9")
    yield MemoryReactorClock()
    _default.use_node(None)


def before_shutdown(reactor: MemoryReactorClock) -> list[Deferred[Any]]:
    """
    Run the "before shutdown" triggers, as the reactor does on SIGTERM.
    """
    return [trigger(*args, **kw) for trigger, args, kw in reactor.triggers["before"]["shutdown"]]


def result_of(d: Deferred[Any]) -> Any:
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "the Deferred has not fired"
    return results[0]


def test_a_signal_cancels_main_runs_its_finally_and_ends_cleanly(reactor: MemoryReactorClock) -> None:
    seen: list[str] = []

    async def main() -> None:
        try:
            await Deferred()
        except CancelledError:
            seen.append("cancelled")
            raise
        finally:
            seen.append("finally")

    outcome = _run.run_main(reactor, main)
    node = micro.default_node()
    assert not outcome.called

    [stopped] = before_shutdown(reactor)
    assert seen == ["cancelled", "finally"]
    assert result_of(outcome) is None  # a clean exit, not an error
    assert result_of(stopped) is None
    assert node.joined and _default.current_node() is None  # terminated and released


def test_a_signal_during_shutdown_waits_for_it_instead_of_cancelling_it(reactor: MemoryReactorClock) -> None:
    """
    main has returned and micro is shutting down (a terminate hook is still
    running) when the signal arrives: the shutdown goes on to its end.
    """
    hook: Deferred[None] = Deferred()

    def main() -> Deferred[int]:
        micro.default_node().on_terminate(lambda: hook)
        return succeed(42)

    outcome: list[Any] = []
    _run.run_main(reactor, main).addBoth(outcome.append)
    assert outcome == []  # main's result waits for the shutdown
    stopped: list[Any] = []
    [d] = before_shutdown(reactor)
    d.addBoth(stopped.append)
    assert not hook.called and stopped == []
    hook.callback(None)
    assert outcome == [42] and len(stopped) == 1


def test_main_failing_on_its_own_is_reported(reactor: MemoryReactorClock) -> None:
    def main() -> None:
        raise ValueError("boom")

    outcome = _run.run_main(reactor, main)
    failure = result_of(outcome)
    assert failure.check(ValueError)
    assert _default.current_node() is None
