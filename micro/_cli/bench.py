# -*- test-case-name: tests.cli.test_bench -*-
"""
C{micro bench}: call a service as fast as it answers, from several
callers at once, and report calls per second, latency percentiles and
errors.  Each call takes the path of C{call_service}, through the same
call router (the payload encoded for each call, sent round-robin straight
to an instance, the reply decoded) over the registry's table as the
command found it, so the figures are what a client process sees;
C{bench/bench_calls.py} runs this command beside its own load to check
that.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field
from twisted.internet.defer import CancelledError, Deferred, gatherResults, succeed
from twisted.internet.task import LoopingCall
from twisted.python import usage
from twisted.python.failure import Failure

from micro._calls.caller import Caller
from micro._cli.command import Command, arguments, count, not_negative, payload, seconds
from micro._cli.output import OK, REMOTE_ERROR, rate
from micro._cli.output import seconds as duration
from micro._cli.session import Session
from micro._http.failures import Kind, classify
from micro._kernel.errors import HttpError, UnknownService
from micro._kernel.protocol import DEFAULT_TIMEOUT
from micro._kernel.validation import check_service_name
from micro._node.calls import CallRouter
from micro._node.table import ServiceTable

DEFAULT_CALLS = 1000


@define
class _Run:
    """
    The calls of one benchmark: how many to make (or until when), and what they took.
    """

    calls: int | None
    until: float | None
    latencies: list[float] = field(factory=list)
    errors: dict[str, int] = field(factory=dict)
    issued: int = 0

    def another(self, now: float) -> bool:
        if self.calls is not None:
            if self.issued >= self.calls:
                return False
        elif self.until is not None and now >= self.until:
            return False
        self.issued += 1
        return True


def _router(session: Session, caller: Caller) -> CallRouter:
    """
    The call router C{call_service} goes through, over the table C{caller}
    was given: no instance here, the table loaded already.
    """
    table = ServiceTable()
    table.replace("micro bench", 0, {}, keep_stale=False)
    return CallRouter(session.clock, table, caller, None, lambda location: None,  # type: ignore[arg-type]
                      lambda timeout: succeed(None))


def nearest_rank(ordered: list[float], fraction: float) -> float | None:
    """
    The C{fraction} percentile of sorted samples, by nearest rank.
    """
    if not ordered:
        return None
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


class Bench(Command):
    """
    Call a service as fast as it answers; report calls/s and latencies.
    """

    synopsis = "NAME [JSON | @FILE | -] [-n CALLS | -t SECONDS] [-c CONCURRENCY]"
    longdesc = (f"Call service NAME with a payload (default null), CONCURRENCY calls at a time, -n CALLS in all "
                f"(default {DEFAULT_CALLS}) or for -t SECONDS, after --warmup calls that are not counted. Prints "
                f"calls per second, mean, p50, p90, p99 and max latency, and the errors; a progress line every "
                f"second on standard error. Ctrl-C stops early and reports what was measured. Exit status 1 "
                f"if any call failed.")
    optParameters = [
        ["calls", "n", None, f"Calls to make (default {DEFAULT_CALLS}).", count],
        ["time", "t", None, "Seconds to call for, instead of a number of calls.", seconds],
        ["concurrency", "c", 1, "Calls at a time.", count],
        ["warmup", "w", 100, "Calls made first, not counted.", not_negative],
        ["timeout", None, DEFAULT_TIMEOUT, "Seconds each call may take.", seconds],
    ]
    optFlags = [["quiet", "q", "No progress line."]]

    def parseArgs(self, *given: str) -> None:
        service, text = arguments(given, "NAME and an optional JSON payload", 1, 2)
        try:
            self.service = check_service_name(service)
        except HttpError as e:
            raise usage.UsageError(e.message) from None
        self.payload = payload(text)

    def postOptions(self) -> None:
        if self["calls"] is not None and self["time"] is not None:
            raise usage.UsageError("give -n CALLS or -t SECONDS, not both")
        if self["calls"] is None and self["time"] is None:
            self["calls"] = DEFAULT_CALLS

    async def run(self, session: Session) -> int:
        caller = await session.caller()
        if caller.pick(self.service) is None:
            raise UnknownService(self.service)
        router = _router(session, caller)
        clock = session.clock

        async def worker(run: _Run) -> None:
            while run.another(clock.seconds()):
                began = clock.seconds()
                try:
                    await router.call(self.service, self.payload, self["timeout"], 0)
                except HttpError as e:
                    run.errors[str(e)] = run.errors.get(str(e), 0) + 1
                except Exception:
                    failure = Failure()
                    if classify(failure).kind is Kind.CANCELLED:
                        return  # Ctrl-C: the call in flight was dropped
                    run.errors[repr(failure.value)] = run.errors.get(repr(failure.value), 0) + 1
                run.latencies.append(clock.seconds() - began)

        async def calls(run: _Run) -> bool:
            """
            Make the calls of C{run}; whether they all were made (no Ctrl-C).
            """
            try:
                await gatherResults([Deferred.fromCoroutine(worker(run)) for _ in range(self["concurrency"])])
            except CancelledError:
                return False
            return run.calls is None or run.issued >= run.calls

        if self["warmup"] and not await calls(_Run(self["warmup"], None)):
            return OK
        started = clock.seconds()
        until = None if self["time"] is None else started + self["time"]
        run = _Run(self["calls"], until)
        progress = self._progress(session, run, started)
        try:
            await calls(run)
        finally:
            if progress.running:
                progress.stop()
            session.out.end_progress()
        return self._report(session, run, clock.seconds() - started)

    def _progress(self, session: Session, run: _Run, started: float) -> LoopingCall:
        last = [0]

        def tick() -> None:
            done = len(run.latencies)
            errors = sum(run.errors.values())
            session.out.progress(f"{self.service}: {done:,} calls, {rate(done - last[0])}/s now, {errors} errors, "
                                 f"{session.clock.seconds() - started:.0f}s")
            last[0] = done

        loop = LoopingCall(tick)
        loop.clock = session.clock
        if not self["quiet"]:
            loop.start(1.0, now=False)
        return loop

    def _report(self, session: Session, run: _Run, elapsed: float) -> int:
        ordered = sorted(run.latencies)
        done = len(ordered)
        errors = sum(run.errors.values())
        figures: dict[str, Any] = {
            "service": self.service, "calls": done, "errors": errors, "concurrency": self["concurrency"],
            "seconds": elapsed, "calls_per_second": done / elapsed if elapsed > 0 else None,
            "mean": sum(ordered) / done if done else None, "p50": nearest_rank(ordered, 0.5),
            "p90": nearest_rank(ordered, 0.9), "p99": nearest_rank(ordered, 0.99), "max": ordered[-1] if done else None,
        }
        out = session.out
        if self.json:
            out.document(figures)
        else:
            out.line(f"{self.service}: {done:,} calls in {duration(elapsed)}, {self['concurrency']} at a time")
            per_second = figures["calls_per_second"]
            out.table(["CALLS/S", "MEAN", "P50", "P90", "P99", "MAX", "ERRORS"],
                      [[rate(per_second) if per_second is not None else None,
                        *(duration(figures[key]) for key in ("mean", "p50", "p90", "p99", "max")), errors]],
                      right=range(7))
        for message, times in sorted(run.errors.items(), key=lambda item: -item[1])[:5]:
            out.error(f"{times} calls failed: {message}")
        return REMOTE_ERROR if errors else OK
