# -*- test-case-name: tests.twistd.test_workers -*-
"""
C{micro-registry --workers N}: the process that twistd started serves, and
N - 1 more registry processes, started here, serve the same port beside it
(SO_REUSEPORT), over the same Redis store.  Each is a whole registry: the
kernel spreads connections over them, so route and publish throughput
grows with cores.  A worker that dies is started again; stopping this
process stops them (SIGTERM, then SIGKILL after L{STOP_TIMEOUT}).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import deferLater
from twisted.logger import Logger

from micro._kernel.deferreds import stop_timer

RESTART_DELAY = 1.0
STOP_TIMEOUT = 15.0

# Runs twistd in a child, as the twistd that started this process ran.
_TWISTD = "import sys; from twisted.scripts.twistd import run; sys.argv[0] = 'twistd'; run()"


def worker_argv(argv: list[str]) -> list[str]:
    """
    The command line of a worker: this registry's own options, without
    C{--workers}, with C{--reuseport}, run by twistd in the foreground.
    """
    try:
        tail = argv[argv.index("micro-registry") + 1:]
    except ValueError:
        tail = []
    options: list[str] = []
    skip = False
    for word in tail:
        if skip:
            skip = False
            continue
        if word in ("--workers", "-w"):
            skip = True
            continue
        if word.startswith("--workers="):
            continue
        options.append(word)
    if "--reuseport" not in options:
        options.append("--reuseport")
    return [sys.executable, "-c", _TWISTD, "-n", "micro-registry", *options]


class _Worker(ProcessProtocol):
    def __init__(self, workers: Workers, number: int):
        self.workers = workers
        self.number = number
        self.ended: Deferred[None] = Deferred()

    def processEnded(self, reason: Any) -> None:
        self.ended.callback(None)
        self.workers.ended(self, reason)


class Workers(Service):
    """
    The other registry processes of a C{--workers N} registry.
    """

    _log = Logger()

    def __init__(self, reactor: Any, count: int, argv: list[str]):
        self._reactor = reactor
        self._count = count
        self._argv = argv
        self._running: dict[int, tuple[_Worker, Any]] = {}

    def startService(self) -> None:
        super().startService()
        for number in range(1, self._count):
            self._spawn(number)

    def _spawn(self, number: int) -> None:
        protocol = _Worker(self, number)
        process = self._reactor.spawnProcess(protocol, self._argv[0], self._argv, env=os.environ.copy(),
                                             childFDs={0: "w", 1: 1, 2: 2})
        self._running[number] = (protocol, process)
        self._log.info("registry worker {number} started (pid {pid})", number=number, pid=process.pid)

    def ended(self, protocol: _Worker, reason: Any) -> None:
        self._running.pop(protocol.number, None)
        if not self.running:
            return
        self._log.warn("registry worker {number} ended ({why}); starting it again in {delay}s",
                       number=protocol.number, why=reason.getErrorMessage(), delay=RESTART_DELAY)
        deferLater(self._reactor, RESTART_DELAY, self._respawn, protocol.number)

    def _respawn(self, number: int) -> None:
        if self.running and number not in self._running:
            self._spawn(number)

    def stopService(self) -> Deferred[None]:
        super().stopService()
        ended = []
        for protocol, process in list(self._running.values()):
            ended.append(protocol.ended)
            try:
                process.signalProcess("TERM")
            except Exception:
                continue
            timer = self._reactor.callLater(STOP_TIMEOUT, _kill, process)
            protocol.ended.addBoth(stop_timer, timer)
        return gatherResults(ended).addCallback(lambda _: None)


def _kill(process: Any) -> None:
    try:
        os.kill(process.pid, signal.SIGKILL)
    except OSError:
        pass
