# -*- test-case-name: tests.cli.test_top -*-
"""
C{micro top}: every service's call rate, errors, latency and calls in
flight, refreshed every second from the registry's C{stats} (the counts
nodes report on their watches; see L{micro._registry.metrics}).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import CancelledError
from twisted.internet.task import deferLater

from micro._cli.command import Command, count, seconds
from micro._cli.output import OK, clock_time, rate
from micro._cli.output import seconds as duration
from micro._cli.session import Session
from micro._kernel.errors import HttpError

# Clear the terminal and put the cursor at the top (ANSI), as top does.
CLEAR = b"\x1b[H\x1b[2J"

HEADERS = ["SERVICE", "INSTANCES", "CALLS/S", "ERRORS/S", "P50", "P99", "IN FLIGHT", "CALLS", "ERRORS"]


def rows(services: dict[str, Any], everything: bool = False) -> list[list[Any]]:
    """
    One row per service, busiest first; micro's own services
    (C{_micro.*}) and services with no instance and no recent call are
    left out unless C{everything}.
    """
    listed = [(name, s) for name, s in services.items() if everything or (
        not name.startswith("_micro.") and (s["instances"] or s["calls_per_second"] or s["in_flight"]))]
    listed.sort(key=lambda item: (-item[1]["calls_per_second"], item[0]))
    return [[name, s["instances"], rate(s["calls_per_second"]), rate(s["errors_per_second"]), duration(s["p50"]),
             duration(s["p99"]), s["in_flight"], s["calls"], s["errors"]] for name, s in listed]


class Top(Command):
    """
    Per-service rates, errors, latency and calls in flight, refreshed every second.
    """

    synopsis = "[--interval SECONDS] [--count N] [--all]"
    longdesc = ("Show each service's calls per second, errors per second, p50 and p99 latency (over the "
                "registry's last few seconds of reports), calls in flight and totals, busiest first, "
                "refreshed every --interval until Ctrl-C. Nodes report their counts on their watches, every "
                "couple of seconds, so the figures move at that pace.")
    optParameters = [
        ["interval", "i", 1.0, "Seconds between refreshes.", seconds],
        ["count", "n", None, "Refresh this many times, then stop.", count],
    ]
    optFlags = [["all", "a", "Also list micro's own services, and services with no instance and no recent call."]]

    async def run(self, session: Session) -> int:
        shown, limit, failed = 0, self["count"], False
        try:
            while limit is None or shown < limit:
                if shown:
                    await deferLater(session.clock, self["interval"])
                try:
                    stats = await session.command("stats")
                except HttpError as e:
                    if e.status not in (502, 503, 504) or not shown:
                        raise
                    if not failed:
                        session.out.error(f"{e.message}; trying again")
                    failed = True
                    continue
                failed = False
                self._show(session, stats)
                shown += 1
        except CancelledError:
            pass
        return OK

    def _show(self, session: Session, stats: dict[str, Any]) -> None:
        out = session.out
        if self.json:
            out.document({"time": session.clock.seconds(), **stats})
            return
        services = stats.get("services", {})
        instances = sum(s["instances"] for s in services.values())
        if out.interactive:
            out.raw(CLEAR)
        out.line(f"micro top - {session.registry} - {clock_time(session.clock.seconds())} - "
                 f"{len(services)} services, {instances} instances; rates over {stats.get('window', 0):g}s")
        out.table(HEADERS, rows(services, self["all"]), right=range(1, len(HEADERS)))
        if not out.interactive:
            out.line()
