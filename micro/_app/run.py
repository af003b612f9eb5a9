# -*- test-case-name: tests.app.test_run -*-
"""
C{micro.run}: a program's main on the reactor, shutting micro down cleanly
when it ends or on SIGINT and SIGTERM.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any, Callable, NoReturn

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._app.default import shutdown, use_node
from micro._app.node import Node
from micro._kernel.deferreds import observe

_log = Logger(namespace="micro")


def run(main: Callable[..., Any]) -> NoReturn:
    """
    Run C{main} (C{main()} or C{main(reactor)}; plain, C{async def}, or
    returning a Deferred) on the reactor, shut micro down cleanly when it
    is done, and exit.

    SIGINT and SIGTERM cancel C{main} where it waits (its C{finally}
    blocks run), then shut down just as cleanly: instances unregister and
    finish their requests before the process exits, with status 0.

    Warnings and errors are logged to standard error; set
    C{MICRO_LOG_LEVEL=info} to see more.
    """
    from twisted.internet import task

    log_to_stderr(os.environ.get("MICRO_LOG_LEVEL", "warn"))
    task.react(lambda reactor: run_main(reactor, main))
    raise SystemExit(0)  # react() exits itself; this line only satisfies NoReturn


def run_main(reactor: Any, main: Callable[..., Any]) -> Deferred[Any]:
    use_node(Node.create(reactor))
    takes_reactor = bool(inspect.signature(main).parameters)

    def start() -> Any:
        result = main(reactor) if takes_reactor else main()
        return Deferred.fromCoroutine(result) if inspect.iscoroutine(result) else result

    running = maybeDeferred(start)
    stopping = False

    def finish(result: Any) -> Deferred[Any]:
        if stopping and isinstance(result, Failure) and result.check(CancelledError):
            result = None  # cancelled by a signal: a clean exit
        return Deferred.fromCoroutine(shutdown()).addCallback(lambda _: result)

    # A chain of its own: cancelling main must not cancel the shutdown.
    outcome = observe(running).addBoth(finish)
    running.addErrback(lambda _: None)  # reported through outcome

    def on_signal_or_stop() -> Deferred[Any]:
        nonlocal stopping
        stopping = True
        ignore_repeated_signals(reactor)
        running.cancel()
        return observe(outcome).addErrback(lambda _: None)  # react() reports main's failure itself

    reactor.addSystemEventTrigger("before", "shutdown", on_signal_or_stop)
    return outcome


def ignore_repeated_signals(reactor: Any) -> None:
    """
    While micro shuts down, a second SIGINT or SIGTERM would only make the
    reactor log a traceback for stopping twice; say what is going on instead.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def still_stopping(signum: int, frame: Any) -> None:
        reactor.callFromThread(_log.warn, "already shutting down: finishing in-flight requests (SIGKILL stops at once)")

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, still_stopping)


def log_to_stderr(level_name: str) -> None:
    """
    Send log events of C{level_name} (C{"warn"}, C{"info"}, ...) and above
    to standard error.
    """
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    try:
        level = LogLevel.levelWithName(level_name.strip().lower())
    except Exception:
        level = LogLevel.warn
    observer = FilteringLogObserver(textFileLogObserver(sys.stderr), [LogLevelFilterPredicate(level)])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
