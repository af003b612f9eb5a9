"""
micro.run's lifecycle, on a fake reactor: how main ends and how a signal
(the reactor's "before shutdown" event) stops it.
"""

from __future__ import annotations

import sys
from typing import Any, Iterator

import pytest
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.error import CannotListenError
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


@pytest.mark.parametrize("error, line", [
    (micro.HttpError(404, "no price for banana"), "404: no price for banana"),
    (CannotListenError("127.0.0.1", 9999, OSError(98, "Address already in use")),
     "Couldn't listen on 127.0.0.1:9999: [Errno 98] Address already in use."),
])
def test_expected_failures_of_main_are_one_line_and_status_1(reactor: MemoryReactorClock,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             error: Exception, line: str) -> None:
    """
    A call that failed or a busy port: one line on stderr, exit status 1
    (the SystemExit task.react turns into the status), no traceback.
    """
    monkeypatch.setattr(sys, "argv", ["client.py", "banana"])

    def main() -> None:
        raise error

    failure = result_of(_run.run_main(reactor, main))
    assert failure.check(SystemExit) and failure.value.code == 1
    assert capsys.readouterr().err == f"client.py: {line}\n"


def test_a_bad_registry_url_is_one_line_before_main_runs(reactor: MemoryReactorClock,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """
    MICRO_REGISTRY_URL without http:// ends the script in one line; main never runs.
    """
    monkeypatch.setenv("MICRO_REGISTRY_URL", "127.0.0.1:9955")
    monkeypatch.setattr(sys, "argv", ["client.py"])
    ran: list[str] = []
    failure = result_of(_run.run_main(reactor, lambda: ran.append("main")))
    assert failure.check(SystemExit) and ran == []
    assert capsys.readouterr().err == ("client.py: registry URL (MICRO_REGISTRY_URL) '127.0.0.1:9955' must be "
                                       "an http:// or https:// URL with a host\n")


def test_http_error_is_micro_http_error() -> None:
    """
    Tracebacks and test reports name the class as users import it.
    """
    assert micro.HttpError.__module__ == "micro"
    assert f"{micro.HttpError.__module__}.{micro.HttpError.__qualname__}" == "micro.HttpError"


def test_marks_in_a_script_are_warned_about() -> None:
    """
    A micro.run script that marks functions is told that micro.run does not
    host them; a script without marks hears nothing.
    """
    import types

    from twisted.logger import capturedLogs

    script = types.ModuleType("__main__")
    script.__file__ = "shop_script.py"
    with capturedLogs() as events:
        _run.warn_about_marks(types.ModuleType("plain"))
        script.prices = micro.service(lambda p: 1, name="prices")  # type: ignore[attr-defined]
        _run.warn_about_marks(script)
    [event] = events
    assert (event["module"], event["marked"]) == ("shop_script.py", "prices")
    assert "micro.run does not host them" in event["log_format"]
