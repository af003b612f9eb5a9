"""
Fixtures of the multi-host tests: networks of hosts in Linux network
namespaces (they need root; without it every test here is skipped with
the reason), and a report of each scenario printed at the end of the run.

The run checks at its end that nothing it created is left: no namespace
named after its PID, no process it started.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.netns._hosts import Network
from tests.netns._namespaces import (
    LEDGER,
    Ledger,
    cannot_create_namespaces,
    clean_up_whenever_the_run_ends,
    ip,
    stale_namespaces,
)

_REPORT = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORT] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(_REPORT, [])
    if lines:
        terminalreporter.section("multi-host scenarios (network namespaces)")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def netns_run(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """
    The run's ledger of namespaces and processes; at the end of the run,
    everything in it is undone and the run fails if anything is left.
    """
    why = cannot_create_namespaces()
    if why:
        pytest.skip(why)
    for name in stale_namespaces():
        ip("netns", "delete", name)
    clean_up_whenever_the_run_ends()
    yield LEDGER
    LEDGER.clean_up()
    left = LEDGER.leftovers()
    request.config.stash[_REPORT].append(
        f"cleanup: {LEDGER.created} namespaces created and {LEDGER.stopped} processes stopped by this run; "
        f"left: {', '.join(left) or 'nothing'}")
    assert not left, f"the multi-host tests left {left}"


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """
    Add a line to the scenario report printed at the end of the run.
    """
    def add(line: str) -> None:
        print(line)
        request.config.stash[_REPORT].append(f"{request.node.name}: {line}")
    return add


@pytest.fixture
def network(netns_run: Ledger, tmp_path: Path) -> Iterator[Callable[[int], Network]]:
    """
    Make a network of N hosts; every process in it is stopped by PID and
    its namespaces deleted when the test ends, whatever its outcome.
    """
    made: list[Network] = []

    def make(count: int) -> Network:
        made.append(Network.create(tmp_path, count))
        return made[-1]

    yield make
    for network in made:
        network.close()
