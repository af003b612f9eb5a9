# -*- test-case-name: tests.cli.test_watch -*-
"""
C{micro watch}: the table's changes as they happen, from the registry's
read-only watch (C{changes}), which takes no lease: watching does not make
the tool a member of the cluster.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import CancelledError
from twisted.internet.task import deferLater

from micro._cli.command import Command, count
from micro._cli.output import OK, clock_time
from micro._cli.session import Session
from micro._kernel.errors import HttpError

# Seconds a changes command may take beyond the registry's hold.
GRACE = 10.0

# Seconds between attempts while the registry cannot be reached.
RETRY_DELAY = 1.0


def differences(old: dict[str, list[str]], new: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """
    The changes that turn table C{old} into C{new}: removals, then additions.
    """
    gone = [("-", name, loc) for name, locs in sorted(old.items()) for loc in locs if loc not in new.get(name, ())]
    came = [("+", name, loc) for name, locs in sorted(new.items()) for loc in locs if loc not in old.get(name, ())]
    return gone + came


def applied(table: dict[str, list[str]], changes: list[tuple[str, str, str]]) -> None:
    for op, service, location in changes:
        locations = table.setdefault(service, [])
        if op == "+" and location not in locations:
            locations.append(location)
        elif op == "-" and location in locations:
            locations.remove(location)
        if not locations:
            del table[service]


class Watch(Command):
    """
    Print the table's changes as they happen, until Ctrl-C.
    """

    synopsis = "[--count N]"
    longdesc = ("Print the instances the registry lists now ('='), then every change as it happens: '+' an "
                "instance joined, '-' it left (unregistered, evicted, or its process died). A registry that "
                "restarts is reported, and what differs in its table. Runs until Ctrl-C or --count changes.")
    optParameters = [["count", "n", None, "Stop after this many changes.", count]]

    async def run(self, session: Session) -> int:
        reply = await session.command("changes", True)
        table: dict[str, list[str]] = {name: list(locs) for name, locs in reply["services"].items()}
        epoch, version = reply["epoch"], reply["version"]
        for name, locations in sorted(table.items()):
            for location in locations:
                self._show(session, "=", name, location, version)
        session.out.note(f"watching the registry at {session.registry} (version {version}); Ctrl-C to stop")
        shown, limit = 0, self["count"]
        try:
            while limit is None or shown < limit:
                reply = await self._next(session, epoch, version, reply.get("hold", GRACE))
                if "services" in reply:
                    if reply["epoch"] != epoch:
                        session.out.note(f"the registry restarted (epoch {reply['epoch']})")
                    changes = differences(table, reply["services"])
                    table = {name: list(locs) for name, locs in reply["services"].items()}
                else:
                    changes = [(op, service, location) for op, service, location in reply["changes"]]
                    applied(table, changes)
                epoch, version = reply["epoch"], reply["version"]
                for op, service, location in changes[:None if limit is None else limit - shown]:
                    self._show(session, op, service, location, version)
                    shown += 1
        except CancelledError:
            pass
        return OK

    async def _next(self, session: Session, epoch: str, version: int, hold: float) -> Any:
        """
        The next reply to a read-only watch; while the registry cannot be
        reached, say so once and try again every second.
        """
        failed = False
        while True:
            try:
                reply = await session.command("changes", {"epoch": epoch, "version": version}, timeout=hold + GRACE)
            except HttpError as e:
                if e.status not in (502, 503, 504):
                    raise
                if not failed:
                    session.out.error(f"{e.message}; trying again every {RETRY_DELAY:g}s")
                    failed = True
                await deferLater(session.clock, RETRY_DELAY)
                continue
            if failed:
                session.out.note(f"the registry at {session.registry} answers again")
            return reply

    def _show(self, session: Session, op: str, service: str, location: str, version: int) -> None:
        now = session.clock.seconds()
        if self.json:
            session.out.document({"time": now, "op": op, "service": service, "location": location,
                                  "version": version})
        else:
            session.out.line(f"{clock_time(now)}  {op}  {service}  {location}")
