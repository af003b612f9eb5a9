# -*- test-case-name: tests.twistd.test_taps -*-
"""
What both twistd commands do to their process: no pidfile by default in
the foreground, one line and status 1 on a fatal error (found before or
after the reactor started), and a heap frozen once everything is loaded.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from typing import Any, NoReturn

from twisted.python import usage


def freeze_loaded_objects() -> None:
    """
    What is loaded once the service starts (micro, the app module) lives
    as long as the process: keep it out of the collector's full passes,
    which otherwise stall every request in flight (they show in the p99 of
    bench/bench_routes.py).
    """
    gc.freeze()


def run_without_pidfile_in_foreground(options: usage.Options) -> None:
    """
    With C{twistd -n}, drop twistd's default pidfile (C{twistd.pid} in the
    current directory) so that a registry and services can run side by
    side from one directory.  An explicit C{--pidfile} is kept.
    """
    parent: Any = getattr(options, "parent", None)
    if parent is None:
        return
    if parent.get("nodaemon") and parent.get("pidfile") == "twistd.pid":
        parent["pidfile"] = ""


def exit_with(message: str) -> NoReturn:
    """
    Leave twistd with one line on standard error and status 1, instead of
    a usage dump or a traceback.
    """
    raise SystemExit(message)


def exit_after_shutdown(reactor: Any, status: int = 1) -> None:
    """
    End twistd with C{status} after a failure found while it runs: stop the
    reactor (services stop as on SIGTERM), and once twistd is done with its
    own cleanup (logs, pidfile) leave with C{status} instead of 0, so that
    systemd or Kubernetes see the failure.

    twistd itself always exits 0 once its reactor stopped, and swallows
    exceptions raised from it; an exit handler registered now runs after
    all of that.
    """
    atexit.register(_exit_now, status)
    if reactor.running:
        reactor.stop()


def _exit_now(status: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
