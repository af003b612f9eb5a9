# -*- test-case-name: tests.registry.test_restart -*-
"""
Keeping a node's L{ServiceTable} current by watching the registry.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import deferLater
from twisted.logger import Logger

from micro._calls.balancer import RoundRobin
from micro._kernel.deferreds import Latch, Loop
from micro._node.call_stats import CallStats
from micro._node.registry_client import WATCH_TIMEOUT, RegistryClient
from micro._node.table import ServiceTable

# Seconds to wait before watching again after the registry failed to answer:
# short, so that a restarted registry gets its table back within a beat.
# Each wait is stretched by a random 0 to 50%, so that thousands of nodes
# do not come back to a restarted registry in the same instant.
RETRY_DELAYS = (0.1, 0.25, 0.5, 1.0)
RETRY_JITTER = 0.5

# Seconds a watch may take beyond the registry's hold before the node gives
# up on it.  Generous: giving up drops the connection, which the registry
# takes for the death of the node and evicts its instances.
WATCH_GRACE = 10.0

# With several registries, a node gives up sooner and watches the next one:
# the registries share a store, the next one renews its lease, and the one
# it left does not evict a node that watches elsewhere.
WATCH_GRACE_SEVERAL = 1.0


@define
class TableWatcher:
    """
    Watch the registry in a loop and apply what it says to C{table}.

    When the registry does not know the node (it restarted, or evicted the
    node while it was alive), C{rejoin} runs before the next watch, to
    register the node's instances again; until it succeeds it runs again
    before every watch.

    Each watch carries the node's call counts (C{stats}) when they changed
    since the registry last took them.

    @ivar _timeout: How long to wait for a watch's answer: the registry's
        hold, as its replies say, plus L{WATCH_GRACE}.
    """

    _client: RegistryClient
    _node_id: str
    _table: ServiceTable
    _balancer: RoundRobin
    _clock: Any
    _rejoin: Callable[[], Deferred[None]]
    _random: Callable[[], float] = random.random
    _stats: CallStats | None = field(default=None, kw_only=True)
    _must_rejoin: bool = field(default=False, init=False)
    _timeout: float = field(default=WATCH_TIMEOUT, init=False)
    _loop: Loop = field(factory=Loop, init=False)
    _loaded: Latch = field(factory=Latch, init=False)

    _log = Logger()

    @property
    def running(self) -> bool:
        return self._loop.running

    def start(self) -> None:
        if not self._loop.running:
            self._client.endpoints.resolve()  # a registry name may stand for several
        self._loop.start(self._run, lambda f: self._log.failure("table watcher stopped", f))

    async def stop(self) -> None:
        await self._loop.stop()

    def loaded(self) -> Deferred[None]:
        """
        Fires once the table has been filled for the first time.
        """
        if self._table.loaded:
            self._loaded.set()
        return self._loaded.wait()

    async def _run(self) -> None:
        failures = 0
        moves = 0
        while self._loop.running:
            table = self._table
            url = self._client.current
            try:
                if self._must_rejoin:
                    self._loop.current = self._rejoin()
                    await self._loop.current
                    self._must_rejoin = False
                url = self._client.current
                report = self._stats.report() if self._stats is not None else None
                self._loop.current = self._client.watch(self._node_id, table.epoch, table.version, self._timeout,
                                                        stats=report)
                reply = await self._loop.current
                if self._apply(reply):
                    self._must_rejoin = True
            except CancelledError:
                if not self._loop.running:
                    return
                continue
            except Exception as e:
                if not self._loop.running:
                    return
                if self._stats is not None:
                    self._stats.report_again()
                endpoints = self._client.endpoints
                if endpoints.several and moves < len(endpoints.urls) - 1:
                    # Another registry shares the table: watch it now.
                    endpoints.failed(url)
                    moves += 1
                    self._log.info("watching {url} failed ({error}); watching {next}", url=url, error=e,
                                   next=endpoints.current)
                    continue
                moves = 0
                if endpoints.several:
                    endpoints.failed(url)
                if failures <= 1 or failures % 20 == 0:
                    # A single failure (the registry restarting, or stopped
                    # just before this node) is news only if the retry fails too.
                    log = self._log.info if failures == 0 else self._log.warn
                    what = "registering again" if self._must_rejoin else "watching the registry"
                    log("{what} failed ({count}x): {error}", what=what, count=failures + 1, error=e)
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)] * (1 + RETRY_JITTER * self._random())
                failures += 1
                self._loop.current = deferLater(self._clock, delay)
                try:
                    await self._loop.current
                except CancelledError:
                    return
                continue
            if failures:
                self._log.info("registry answers again after {count} failed watches", count=failures)
            failures = moves = 0
        self._loop.current = None

    def _apply(self, reply: dict[str, Any]) -> bool:
        """
        Apply one watch reply; return whether the node must register again.
        """
        table = self._table
        epoch = reply["epoch"]
        version = reply["version"]
        recovering = bool(reply.get("recovering"))
        hold = reply.get("hold")
        if isinstance(hold, (int, float)) and hold > 0:
            self._timeout = hold + (WATCH_GRACE_SEVERAL if self._client.endpoints.several else WATCH_GRACE)
        rejoin = False
        if "services" in reply:
            if self._stats is not None:
                self._stats.report_again()  # a registry that restarted, or forgot this node

            new_epoch = table.loaded and epoch != table.epoch
            if new_epoch:
                self._log.info("registry restarted (epoch {epoch}); registering again", epoch=epoch)
                table.release_waiters()
            table.replace(epoch, version, reply["services"], keep_stale=new_epoch and recovering)
            rejoin = new_epoch or not reply.get("known", True)
        else:
            touched = table.apply(version, [tuple(change) for change in reply["changes"]])
            if touched:
                self._balancer.confirmed(touched)
        if not recovering:
            table.forget_stale()
        self._loaded.set()
        return rejoin
