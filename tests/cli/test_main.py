"""
The console script's frame: exit statuses, one-line errors, Ctrl-C, on the reactor.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from twisted.internet.testing import MemoryReactorClock

from micro._cli import main as cli
from micro._cli.output import Output
from micro._cli.session import Session
from micro.testing import REGISTRY_URL, MemoryCluster
from tests._cli import Shell


def test_a_wrong_command_line_exits_2_with_one_line(capsys: Any) -> None:
    """
    main() with bad arguments: status 2 before the reactor starts, one line on stderr, nothing on stdout.
    """
    with pytest.raises(SystemExit) as caught:
        cli.main(["call", "svc", "{bad json"])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith("micro call: the payload is not JSON")


def test_an_unexpected_failure_is_one_line_not_a_traceback(cluster: MemoryCluster, monkeypatch: Any) -> None:
    """
    A failure nobody foresaw: status 1 and one line naming it.
    """
    async def broken(self: Session, name: str, argument: Any = True, timeout: float = 0) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(Session, "command", broken)
    outcome = Shell(cluster).run("ls")
    assert (outcome.status, outcome.stderr) == (
        1, "micro: failed: ValueError: boom (MICRO_LOG_LEVEL=debug shows the traceback)\n")


def test_interrupting_a_command_that_waits_exits_130(cluster: MemoryCluster) -> None:
    """
    Ctrl-C while a one-shot command waits for the registry: 'interrupted', status 130.
    """
    cluster.freeze("http://registry.test")
    running = Shell(cluster).start("health")
    cluster.settle()
    running.d.cancel()
    outcome = running.outcome(cluster)
    assert outcome.status == 130 and outcome.stderr.endswith("micro: interrupted\n")


def test_react_exits_with_the_status_and_stops_cleanly_on_a_signal() -> None:
    """
    On the reactor: the command's status becomes SystemExit; the shutdown
    trigger (SIGINT, SIGTERM) cancels a command that waits and lets it finish.
    """
    reactor = MemoryReactorClock()
    options = cli.parse(["--registry", "http://127.0.0.1:1", "health"], {})
    stdout, stderr = io.BytesIO(), io.StringIO()
    d = cli.react(reactor, options, stdout, stderr, {})
    assert not d.called  # connecting, on a reactor that never connects
    [(stop, args, kwargs)] = reactor.triggers["before"]["shutdown"]
    waiting = stop(*args, **kwargs)
    outcome: list[Any] = []
    d.addErrback(outcome.append)
    assert outcome and outcome[0].check(SystemExit) and outcome[0].value.code == 130
    assert waiting.called
    assert stderr.getvalue() == "micro: interrupted\n"


class _ClosedPipe(io.BytesIO):
    def write(self, data: Any) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_goes_away_ends_the_command_quietly(cluster: MemoryCluster) -> None:
    """
    micro ls | head: when standard output is closed, the command ends with status 0 and no error.
    """
    options = cli.parse(["ls"], {"MICRO_REGISTRY_URL": REGISTRY_URL})
    err = io.StringIO()
    session = Session(options.registries, cluster._http("cli.test"), cluster.clock, Output(_ClosedPipe(), err))
    assert cluster.result(cli.execute(options, session)) == 0
    assert err.getvalue() == ""
