"""
Running the C{micro} command against an in-memory cluster: the real
parsing and the real commands, with the session's HTTP client, clock and
nodes on a L{MemoryCluster}.
"""

from __future__ import annotations

import io
from typing import Any

from attrs import define, field
from twisted.internet.defer import Deferred

from micro._cli.main import execute, parse
from micro._cli.output import Output
from micro._cli.session import Session
from micro.testing import REGISTRY_URL, MemoryCluster


@define
class Outcome:
    """
    What a command left: its exit status, standard output and error.
    """

    status: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8")

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


@define
class Running:
    """
    A command started and not yet finished.
    """

    d: Deferred[int]
    stdout: io.BytesIO
    stderr: io.StringIO

    def outcome(self, cluster: MemoryCluster) -> Outcome:
        return Outcome(cluster.result(self.d), self.stdout.getvalue(), self.stderr.getvalue())


@define
class Shell:
    """
    Type C{micro ...} at a cluster in memory.

    @ivar environ: The environment the command line is read with.
    """

    cluster: MemoryCluster
    environ: dict[str, str] = field(factory=lambda: {"MICRO_REGISTRY_URL": REGISTRY_URL})
    interactive: bool = False

    def start(self, *argv: str) -> Running:
        """
        Parse C{argv} and start the command, without waiting for it.
        """
        options = parse(list(argv), self.environ)
        stdout, stderr = io.BytesIO(), io.StringIO()
        command: Any = options
        while getattr(command, "subOptions", None) is not None:
            command = command.subOptions
        out = Output(stdout, stderr, json=command.json, interactive=self.interactive)
        session = Session(options.registries, self.cluster._http("cli.test"), self.cluster.clock, out, options.token,
                          self._node(options.token))
        return Running(Deferred.fromCoroutine(execute(options, session)), stdout, stderr)

    def run(self, *argv: str) -> Outcome:
        """
        Run C{micro ARGV} to its end on the settled network.
        """
        return self.start(*argv).outcome(self.cluster)

    def _node(self, token: str | None) -> Any:
        def make(registry: str, home: str | None) -> Any:
            return self.cluster.node(home=home or "http://cli.test", token=token)
        return make
