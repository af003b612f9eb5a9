# -*- test-case-name: tests.cli.test_main -*-
"""
The C{micro} console script (and C{python -m micro}): parse the command
line, run the command on the reactor, exit with its status.

Every failure ends in one line on standard error and a documented exit
status, never a traceback: 2 for a wrong command line (before the reactor
starts), 1 for an error of the cluster (its status and message), 0 when
the command did what it was asked.  Ctrl-C ends C{subscribe}, C{watch},
C{top} and C{bench} cleanly (status 0, or 1 if calls failed); any other
command it interrupts exits with 130.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any, Mapping, NoReturn

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python import usage

from micro._app.node import Node
from micro._app.run import ignore_repeated_signals, log_to_stderr
from micro._cli.command import Command
from micro._cli.options import GlobalUsageError, MicroOptions
from micro._cli.output import OK, REMOTE_ERROR, USAGE, Output, one_line
from micro._cli.session import RegistryUnreachable, Session
from micro._http.client import HttpClient
from micro._kernel.config import Settings
from micro._kernel.deferreds import observe
from micro._kernel.errors import HttpError

INTERRUPTED = 130

_log = Logger(namespace="micro")


def parse(argv: list[str], environ: Mapping[str, str] | None = None) -> MicroOptions:
    """
    The parsed command line; L{usage.UsageError} if it is wrong.
    """
    options = MicroOptions(environ)
    options.parseOptions(argv)
    return options


def command_of(options: usage.Options) -> Command:
    """
    The command to run: the innermost of the sub-commands.
    """
    while not isinstance(options, Command):
        options = options.subOptions
    return options


def usage_message(options: usage.Options, error: usage.UsageError) -> str:
    """
    The one line for a wrong command line, naming the command it is about.
    """
    names = ["micro"]
    while getattr(options, "subCommand", None) and not isinstance(error, GlobalUsageError):
        names.append(str(options.subCommand))
        options = options.subOptions
    where = " ".join(names)
    text = str(error).replace("Parameter type enforcement failed: ", "")
    if text.startswith("Unknown command: "):
        text = f"unknown command {text.split(': ', 1)[1]!r}"
    hint = "lists the commands" if getattr(options, "subCommands", None) else "shows its options"
    return f"{where}: {one_line(text)} ('{where} --help' {hint})"


async def execute(options: MicroOptions, session: Session) -> int:
    """
    Run the command of C{options}; its exit status.  Errors end as one line
    on C{session.out}.
    """
    out = session.out
    try:
        return await command_of(options).run(session)
    except BrokenPipeError:
        # Whoever read the output has gone (micro watch | head): a normal end.
        _stdout_to_devnull(out)
        return OK
    except RegistryUnreachable as e:
        out.error(e.message)
    except HttpError as e:
        out.error(str(e))
    except CancelledError:
        out.error("interrupted")
        return INTERRUPTED
    except Exception as e:
        _log.failure("the command failed", level=_debug())
        out.error(f"failed: {type(e).__name__}: {e} (MICRO_LOG_LEVEL=debug shows the traceback)")
    return REMOTE_ERROR


def _stdout_to_devnull(out: Output) -> None:
    """
    Send what is still to be written to standard output nowhere, so that
    flushing it at exit does not fail again.
    """
    try:
        fileno = out.stdout.fileno()
    except (OSError, ValueError):
        return
    os.dup2(os.open(os.devnull, os.O_WRONLY), fileno)


def _debug() -> Any:
    from twisted.logger import LogLevel

    return LogLevel.debug


def session_for(reactor: Any, options: MicroOptions, out: Output, environ: Mapping[str, str]) -> Session:
    """
    A session on the real network: registries and token from C{options},
    a node of its own for commands that host an instance.
    """
    def make_node(registry: str, home: str | None) -> Node:
        settings = Settings(registry_url=registry, token=options.token,
                            service_url=home or environ.get("MICRO_SERVICE_URL") or None,
                            environment=(environ.get("MICRO_ENV") or "").strip().lower())
        return Node.create(reactor, settings)

    return Session(options.registries, HttpClient.create(reactor), reactor, out, options.token, make_node)


def react(reactor: Any, options: MicroOptions, stdout: IO[bytes], stderr: IO[str],
          environ: Mapping[str, str]) -> Deferred[None]:
    """
    Run the command on C{reactor}; fails with C{SystemExit(status)}, as
    C{task.react} wants.  SIGINT and SIGTERM cancel it where it waits and
    let it finish cleanly.
    """
    out = Output(stdout, stderr, json=command_of(options).json, interactive=stdout.isatty(),
                 progress_on_terminal=stderr.isatty())
    session = session_for(reactor, options, out, environ)

    async def run() -> None:
        status = await execute(options, session)
        await session.http.close()
        raise SystemExit(status)

    running = Deferred.fromCoroutine(run())
    finished = observe(running).addErrback(lambda _: None)  # react() reports the status

    def stop() -> Deferred[Any] | None:
        if running.called:
            return None
        ignore_repeated_signals(reactor)
        running.cancel()
        return finished

    reactor.addSystemEventTrigger("before", "shutdown", stop)
    return running


def main(argv: list[str] | None = None) -> NoReturn:
    """
    The console script C{micro}.
    """
    from twisted.internet import task

    environ = os.environ
    options = MicroOptions(environ)
    try:
        options.parseOptions(sys.argv[1:] if argv is None else argv)
    except usage.UsageError as e:
        sys.stderr.write(usage_message(options, e) + "\n")
        raise SystemExit(USAGE) from None
    except BrokenPipeError:  # micro --help | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(OK) from None
    log_to_stderr(environ.get("MICRO_LOG_LEVEL", "warn"), environ.get("MICRO_LOG_FORMAT", "text"))
    task.react(react, (options, sys.stdout.buffer, sys.stderr, environ))
    raise SystemExit(0)  # react() exits itself; this line only satisfies NoReturn
