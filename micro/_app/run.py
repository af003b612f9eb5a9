# -*- test-case-name: tests.app.test_run -*-
"""
C{micro.run}: a program's main on the reactor, shutting micro down cleanly
when it ends or on SIGINT and SIGTERM.
"""

from __future__ import annotations

import inspect
import os
import sys
from types import ModuleType
from typing import Any, Callable, NoReturn

from twisted.internet.defer import CancelledError, Deferred, fail, maybeDeferred
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._app.default import observability, set_observability, shutdown, use_node
from micro._app.hosting import App
from micro._app.node import Node
from micro._kernel.deferreds import observe
from micro._kernel.errors import HttpError
from micro._kernel.observer import Observability
from micro._registry.server import OpenRegistryRefused

_log = Logger(namespace="micro")


def run(main: Callable[..., Any], *, metrics: bool = False) -> NoReturn:
    """
    Run C{main} (C{main()} or C{main(reactor)}; plain, C{async def}, or
    returning a Deferred) on the reactor, shut micro down cleanly when it
    is done, and exit.

    SIGINT and SIGTERM cancel C{main} where it waits (its C{finally}
    blocks run), then shut down just as cleanly: instances unregister and
    finish their requests before the process exits, with status 0.

    If C{main} fails with an L{HttpError} (a call that failed, a bad
    argument) or a port it cannot listen on, the process prints that in one
    line and exits with status 1; any other exception gets its traceback.

    Warnings and errors are logged to standard error; set
    C{MICRO_LOG_LEVEL=info} to see more, C{MICRO_LOG_FORMAT=json} for JSON
    lines.  With C{metrics}, the services and registries started here
    serve Prometheus metrics at C{/_micro/metrics}.
    """
    from twisted.internet import task

    log_to_stderr(os.environ.get("MICRO_LOG_LEVEL", "warn"), os.environ.get("MICRO_LOG_FORMAT", "text"))
    if metrics:
        set_observability(Observability(metrics=True))
    warn_about_marks(sys.modules.get(getattr(main, "__module__", "__main__"), None))
    task.react(lambda reactor: run_main(reactor, main))
    raise SystemExit(0)  # react() exits itself; this line only satisfies NoReturn


# Failures that say all there is to say in their message.
ONE_LINE_FAILURES = (HttpError, CannotListenError, OpenRegistryRefused)


def run_main(reactor: Any, main: Callable[..., Any]) -> Deferred[Any]:
    try:
        use_node(Node.create(reactor, observability=observability()))
    except Exception:
        return fail().addErrback(_one_line)
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
    outcome = observe(running).addBoth(finish).addErrback(_one_line)
    running.addErrback(lambda _: None)  # reported through outcome

    def on_signal_or_stop() -> Deferred[Any]:
        nonlocal stopping
        stopping = True
        ignore_repeated_signals(reactor)
        running.cancel()
        return observe(outcome).addErrback(lambda _: None)  # react() reports main's failure itself

    reactor.addSystemEventTrigger("before", "shutdown", on_signal_or_stop)
    return outcome


def warn_about_marks(module: ModuleType | None) -> None:
    """
    Marks are read by C{twistd micro-service --module}, not by a script:
    say so rather than let marked functions silently not be hosted.
    """
    if module is None:
        return
    app = App.of(module)
    marked = [name for name, _ in app.services] + [channel for channel, _ in app.subscriptions]
    if marked or app.on_start:
        _log.warn("{module} has functions marked for twistd micro-service ({marked}); micro.run does not host "
                  "them: call micro.create_service (or run the module with twistd -n micro-service --module)",
                  module=getattr(module, "__file__", module.__name__), marked=", ".join(marked) or "@micro.on_start")


def _one_line(failure: Failure) -> Failure:
    """
    Print an expected failure of C{main} in one line and end with status 1
    (task.react exits quietly with a SystemExit's code); leave others be.
    """
    if not failure.check(*ONE_LINE_FAILURES):
        return failure
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "micro.run"
    sys.stderr.write(f"{program}: {failure.value}\n")
    sys.stderr.flush()
    raise SystemExit(1)


def ignore_repeated_signals(reactor: Any) -> None:
    """
    While micro shuts down (C{micro.run}, or a twistd command draining), a
    second SIGINT or SIGTERM would only make the reactor log a traceback for
    stopping twice; say what is going on instead.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not getattr(reactor, "running", False):
        return  # not the process's own running reactor (a test's fake one)

    def still_stopping(signum: int, frame: Any) -> None:
        reactor.callFromThread(_log.warn, "already shutting down: finishing in-flight requests (SIGKILL stops at once)")

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, still_stopping)


def log_to_stderr(level_name: str, log_format: str = "text") -> None:
    """
    Send log events of C{level_name} (C{"warn"}, C{"info"}, ...) and above
    to standard error, as text or (C{log_format="json"}) JSON lines.
    """
    from twisted.logger import globalLogBeginner

    from micro._observe.logs import log_observer, parse_level

    try:
        level = parse_level(level_name)
    except ValueError:
        level = parse_level("warn")
    observer = log_observer(sys.stderr, level, "json" if log_format.strip().lower() == "json" else "text")
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
