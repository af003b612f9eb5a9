"""
Hosts on one machine: each a network namespace with its own address on a
bridge, running real processes (twistd registries and services, client
scripts) started with C{ip netns exec}.

The bridge lives in a namespace of its own and every host is joined to it
by a veth pair created directly between the two namespaces, so the test
network touches nothing of the machine's own.  Pulling a host's cable is
setting its bridge port down: its packets are dropped silently, as when a
host loses power or its link, and no error reaches anyone.
"""

from __future__ import annotations

import glob
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from attrs import define, field

from tests._processes import ROOT, TWISTD, Process, command, wait_until
from tests.netns._namespaces import LEDGER, Inside, clean_up_whenever_the_run_ends, ip, run_prefix

SUBNET = "10.77.0"
REGISTRY_PORT = 9999
_networks: list[int] = [0]


@define(eq=False)
class Host:
    """
    One host: a namespace, its address, its bridge port and its processes.
    """

    network: Network
    number: int
    namespace: str
    inside: Inside
    processes: list[Process] = field(factory=list)

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.number}"

    @property
    def port(self) -> str:
        """
        Its veth's end in the bridge namespace.
        """
        return f"h{self.number}"

    def url(self, port: int | None = None) -> str:
        return f"http://{self.address}" + (f":{port}" if port else "")

    def unplug(self) -> None:
        """
        Pull the cable: the bridge drops everything to and from this host.
        """
        ip("link", "set", self.port, "down", namespace=self.network.bridge)

    def plug(self) -> None:
        ip("link", "set", self.port, "up", namespace=self.network.bridge)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        """
        Start C{argv} inside this host, output to a log file in the
        network's working directory; it is stopped by PID at teardown.
        """
        log_path = self.network.workdir / f"h{self.number}-{name}-{len(self.processes)}.log"
        environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONUNBUFFERED": "1",
                       "PYTHONPATH": f"{self.network.workdir}:{ROOT}", "NETNS_HOST": str(self.number),
                       **(env or {})}
        with open(log_path, "wb") as out:
            # ip netns exec and setpriv exec the command: the PID is the
            # process itself, and it gets SIGTERM if the test run dies.
            popen = subprocess.Popen(["ip", "netns", "exec", self.namespace, "setpriv", "--pdeathsig", "TERM", *argv],
                                     cwd=self.network.workdir,
                                     stdout=out, stderr=subprocess.STDOUT, env=environment,
                                     start_new_session=True)
        LEDGER.add_process(popen)
        process = Process(f"h{self.number}-{name}", popen, log_path)
        self.processes.append(process)
        self.network.started.append(process)
        return process

    def command(self, url: str, document: Any, **kwargs: Any) -> tuple[int, Any]:
        """
        POST a JSON command from this host.
        """
        return self.inside.run(command, url, document, **kwargs)

    def registry(self, *args: str, env: dict[str, str] | None = None) -> Process:
        """
        C{twistd -n micro-registry} on this host's address, once it answers.
        """
        url = self.url(REGISTRY_PORT)
        process = self.start("registry", [TWISTD, "-n", "micro-registry", "--listen",
                                          f"tcp:{REGISTRY_PORT}:interface={self.address}", *args],
                             {"MICRO_REGISTRY_URL": url, **(env or {})})
        wait_until(lambda: process.running() and self.command(url, {"health": True})[0] == 200,
                   timeout=20, what=f"registry on {self.address}\n{process.log()}")
        return process

    def service(self, module: str, registry: Host, *args: str, env: dict[str, str] | None = None) -> Process:
        """
        C{twistd -n micro-service --module MODULE}, advertising this host's
        address (MICRO_SERVICE_URL), joined to the registry on C{registry}.
        """
        return self.start(f"service-{module}", [TWISTD, "-n", "micro-service", "--module", module], {
            "MICRO_REGISTRY_URL": registry.url(REGISTRY_PORT), "MICRO_SERVICE_URL": self.url(), **(env or {})})

    def python(self, name: str, script: str, *args: str, env: dict[str, str] | None = None) -> Process:
        return self.start(name, [sys.executable, script, *args], env)


def faketime_library() -> str | None:
    """
    libfaketime's multi-threaded library, if it is installed.
    """
    libraries = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    return libraries[0] if libraries else None


def skewed_clock(offset: str) -> dict[str, str]:
    """
    The environment that runs a process with its clock set off by
    C{offset} (libfaketime's syntax: C{"+1d"}, C{"-2h"}): every time
    function it calls, monotonic ones included, is skewed.
    """
    library = faketime_library()
    assert library is not None, "libfaketime is not installed"
    return {"LD_PRELOAD": library, "FAKETIME": offset, "FAKETIME_DONT_RESET": "1"}


@define(eq=False)
class Network:
    """
    C{count} hosts, numbered from 1, on one bridge; addresses C{10.77.0.N}.
    """

    workdir: Path
    index: int
    bridge: str
    hosts: dict[int, Host] = field(factory=dict)
    started: list[Process] = field(factory=list)

    @classmethod
    def create(cls, workdir: Path, count: int) -> Network:
        clean_up_whenever_the_run_ends()
        _networks[0] += 1
        network = cls(workdir, _networks[0], f"{run_prefix()}{_networks[0]}-bridge")
        LEDGER.add_namespace(network.bridge)
        ip("netns", "add", network.bridge)
        ip("link", "add", "br0", "type", "bridge", namespace=network.bridge)
        ip("link", "set", "br0", "up", namespace=network.bridge)
        for number in range(1, count + 1):
            network.add_host(number)
        return network

    def add_host(self, number: int) -> Host:
        name = f"{run_prefix()}{self.index}-h{number}"
        LEDGER.add_namespace(name)
        ip("netns", "add", name)
        host = Host(self, number, name, Inside(name))
        self.hosts[number] = host
        ip("link", "add", "eth0", "type", "veth", "peer", "name", host.port, "netns", self.bridge, namespace=name)
        ip("link", "set", host.port, "master", "br0", "up", namespace=self.bridge)
        ip("addr", "add", f"{host.address}/24", "dev", "eth0", namespace=name)
        ip("link", "set", "eth0", "up", namespace=name)
        ip("link", "set", "lo", "up", namespace=name)
        return host

    def __getitem__(self, number: int) -> Host:
        return self.hosts[number]

    def close(self) -> None:
        """
        Stop every process by PID (all at once), then delete the hosts and
        the bridge.
        """
        LEDGER.stop_processes([process.popen for process in self.started])
        for host in self.hosts.values():
            host.inside.close()
            LEDGER.delete_namespace(host.namespace)
        LEDGER.delete_namespace(self.bridge)


def json_lines(process: Process) -> list[dict[str, Any]]:
    """
    The JSON lines a process wrote (client scripts report that way).
    """
    return [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]
