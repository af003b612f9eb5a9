# -*- test-case-name: tests.twistd.test_node_service -*-
"""
The service C{twistd micro-service} runs: a node hosting an app module,
started with retries while the registry is unreachable, ended with status
1 when it cannot start for good, drained on SIGTERM.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.application.service import Service
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._app.default import use_node
from micro._app.hosting import App, host_marked, run_start_hooks, stop_app
from micro._app.node import Node
from micro._app.run import ignore_repeated_signals
from micro._kernel.errors import HttpError, describe_error
from micro._twistd.process import freeze_loaded_objects

START_RETRY_DELAY = 1.0
# The registry cannot be reached or answered for another that cannot:
# worth trying again.  Any other failure to start is for good.
TRANSIENT = frozenset({502, 503, 504})


class NodeService(Service):
    """
    Run a L{Node} hosting an L{App} for as long as twistd runs.

    Starting keeps trying while the registry is unreachable, so services
    may start before the registry does; a failure that trying again cannot
    mend (the registry refuses the token, a hook raises) is logged in one
    line and ends the process through C{on_failure}.
    """

    _log = Logger()

    def __init__(self, node: Node, app: App, drain_timeout: float, settle_timeout: float,
                 on_failure: Callable[[], None]):
        self.node = node
        self.app = app
        self._drain_timeout = drain_timeout
        self._settle_timeout = settle_timeout
        self._on_failure = on_failure
        self._starting: Deferred[None] | None = None
        self._hooks_ran = False

    def startService(self) -> None:
        super().startService()
        freeze_loaded_objects()
        use_node(self.node)
        self._starting = Deferred.fromCoroutine(self._start())
        self._starting.addErrback(self._start_failed)

    async def _start(self) -> None:
        await run_start_hooks(self.node, self.app, self._retrying)
        self._hooks_ran = True  # so on_stop hooks close what they opened
        await host_marked(self.node, self.app, self._retrying)

    def _start_failed(self, failure: Failure) -> None:
        if failure.check(CancelledError):
            return
        self._log.critical("cannot start {app}: {error}; exiting with status 1",
                           app=self.app.name, error=describe_error(failure.value))
        self._on_failure()

    async def _retrying(self, what: str, start: Callable[[], Any]) -> None:
        attempt = 0
        while True:
            try:
                await start()
                return
            except HttpError as e:
                if e.status not in TRANSIENT:
                    raise
                if attempt % 10 == 0:
                    self._log.warn("cannot start {service} yet ({error}); retrying", service=what, error=e)
                attempt += 1
                await deferLater(self.node.reactor, START_RETRY_DELAY)

    def stopService(self) -> Deferred[None]:
        super().stopService()
        ignore_repeated_signals(self.node.reactor)
        if self._starting is not None and not self._starting.called:
            self._starting.cancel()
        self._log.info("stopping: unregistering and draining")
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        await self.node.terminate(self._drain_timeout, self._settle_timeout)
        if self._hooks_ran:
            await stop_app(self.node, self.app)
