"""
A micro cluster spread over the hosts of a L{Network}: a registry on one
host, service processes on others, a caller on another; and what the
tests read of it (the registry's table, each host's table, the caller's
record of every call).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from attrs import define, field

from tests._processes import Process, wait_until
from tests.netns._hosts import REGISTRY_PORT, Host, Network, json_lines

APP = "tests.netns.hosts_app"
SERVICE = "work"
CALLER = str(Path(__file__).with_name("caller_script.py"))
ROUTES = str(Path(__file__).parent.parent / "e2e" / "route_client.py")
ROUTE = "/work"
SERVING = re.compile(r"serving " + SERVICE + r" at (http://\S+)")


@define(eq=False)
class Cluster:
    """
    The registry on C{registry_host}, services and a caller elsewhere.
    """

    network: Network
    registry_host: Host
    services: dict[int, Process] = field(factory=dict)
    caller: Process | None = None
    stop_file: Path | None = None
    routes: Process | None = None
    table_services: dict[int, str] = field(factory=dict)

    @property
    def registry_url(self) -> str:
        return self.registry_host.url(REGISTRY_PORT)

    def location(self, host: Host) -> str:
        """
        Where C{host}'s instance of the work service is advertised.
        """
        return host.url(REGISTRY_PORT + 1)

    def start_registry(self, *args: str, env: dict[str, str] | None = None) -> Process:
        return self.registry_host.registry(*args, env=env)

    def start_service(self, host: Host, env: dict[str, str] | None = None,
                      registries: list[Host] | None = None) -> Process:
        """
        A service process on C{host}; returns once the registry lists it.
        Its node knows C{registries} (in that order; by default only the
        registry).
        """
        process = host.service(APP, self.registry_host, env={**registry_urls(registries), **(env or {})})
        self.services[host.number] = process
        wait_until(lambda: self.location(host) in self.table_at(self.registry_host),
                   timeout=30, what=f"the work service on {host.address}\n{process.log()}")
        return process

    def probe(self, host: Host, url: str, path: str) -> tuple[int, Any]:
        """
        C{GET url + path} (a probe: live, ready) from C{host}; C{(0, why)}
        if it got no answer within 2 s.
        """
        return host.inside.run(_get, url + path)

    def table_at(self, host: Host) -> list[str]:
        """
        The work service's instances in the registry's table, asked from C{host}.
        """
        return list(self.whole_table(host).get(SERVICE, []))

    def whole_table(self, host: Host, registry: Host | None = None) -> dict[str, list[str]]:
        """
        Every service's instances in the table of the registry on
        C{registry} (by default the registry), asked from C{host}.
        """
        url = (registry or self.registry_host).url(REGISTRY_PORT)
        status, table = host.command(url, {"lookup": "all"}, timeout=2)
        assert status == 200, table
        return {name: list(locations) for name, locations in table.items()}

    def watching(self, host: Host, registry: Host) -> set[str]:
        """
        The nodes whose watch is at the registry on C{registry}, as it says.
        """
        status, nodes = host.command(registry.url(REGISTRY_PORT), {"nodes": True}, timeout=2)
        assert status == 200, nodes
        return {node["node"] for node in nodes if node["watching"]}

    def node_table(self, host: Host, asked_from: Host) -> list[str]:
        """
        The work service's instances in the table of the process on C{host}
        (its C{table-hN} service, called directly).
        """
        location = self.table_services.get(host.number)
        if location is None:
            status, location = asked_from.command(self.registry_url, {"lookup": f"table-h{host.number}"}, timeout=2)
            assert status == 200, location
            self.table_services[host.number] = location
        status, table = asked_from.command(location, None, timeout=2)
        assert status == 200, table
        return list(table.get(SERVICE, []))

    def start_caller(self, host: Host, concurrency: int = 10, timeout: float = 2.0,
                     env: dict[str, str] | None = None, registries: list[Host] | None = None) -> Process:
        """
        The caller script on C{host}, calling until L{stop_caller}; its node
        knows C{registries} (by default only the registry).
        """
        self.stop_file = self.network.workdir / f"stop-caller-h{host.number}"
        self.caller = host.python("caller", CALLER, SERVICE, str(concurrency), str(timeout), str(self.stop_file),
                                  "300", env={"MICRO_REGISTRY_URL": self.registry_url,
                                              **registry_urls(registries), **(env or {})})
        wait_until(lambda: any("ok" in line for line in self.calls()), timeout=30,
                   what=f"the caller's first call\n{self.caller.log()}")
        return self.caller

    def stop_caller(self) -> dict[str, int]:
        assert self.caller is not None and self.stop_file is not None
        self.stop_file.touch()
        assert self.caller.wait(30) == 0, self.caller.log()
        return next(line["summary"] for line in self.calls() if "summary" in line)

    def start_routes(self, host: Host, registry: Host, concurrency: int = 4) -> Process:
        """
        Route requests (C{GET ROUTE}) from C{host} through the front door
        of the registry on C{registry}, in C{concurrency} loops, until
        L{stop_caller}; returns once one succeeded.
        """
        assert self.stop_file is not None, "start the caller first: they stop together"
        self.routes = host.python("routes", ROUTES, registry.url(REGISTRY_PORT) + ROUTE, str(concurrency),
                                  str(self.stop_file), "300")
        wait_until(lambda: '"started"' in self.routes.log(), timeout=30,  # type: ignore[union-attr]
                   what=f"the first route request\n{self.routes.log()}")
        return self.routes

    def route_summary(self) -> dict[str, int]:
        """
        The route requests' counts, once L{stop_caller} has stopped them.
        """
        assert self.routes is not None
        assert self.routes.wait(30) == 0, self.routes.log()
        return next(line["summary"] for line in json_lines(self.routes) if "summary" in line)

    def calls(self) -> list[dict[str, Any]]:
        assert self.caller is not None
        return json_lines(self.caller)

    def caller_tables(self) -> list[dict[str, Any]]:
        return [line for line in self.calls() if "table" in line]


def registry_urls(registries: list[Host] | None) -> dict[str, str]:
    """
    The environment that gives a node C{registries}, in that order (none
    if C{None}).
    """
    if not registries:
        return {}
    return {"MICRO_REGISTRY_URL": ",".join(host.url(REGISTRY_PORT) for host in registries)}


def calls_between(lines: list[dict[str, Any]], start: float, end: float = float("inf")) -> list[dict[str, Any]]:
    """
    The calls (ok or failed) that started in [C{start}, C{end}).
    """
    return [line for line in lines if ("ok" in line or "failed" in line) and start <= line["t"] < end]


def until(check: Any, timeout: float, what: str) -> float:
    """
    Poll C{check} every 20 ms; the time it first held (absolute seconds).
    """
    wait_until(check, timeout=timeout, interval=0.02, what=what)
    return time.time()


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
    except OSError as e:
        return 0, str(e)
