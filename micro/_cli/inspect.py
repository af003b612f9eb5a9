# -*- test-case-name: tests.cli.test_inspect -*-
"""
Reading the cluster: C{micro health}, C{ls}, C{nodes}, C{routes},
C{channels} and C{lookup}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, gatherResults

from micro._cli.command import Command, arguments
from micro._cli.output import OK, REMOTE_ERROR, seconds
from micro._cli.session import RegistryUnreachable, Session
from micro._kernel.errors import HttpError, UnknownService


class Health(Command):
    """
    Each registry's health: status, epoch, version, nodes, watchers, services, instances.
    """

    synopsis = ""
    longdesc = ("Ask each registry of --registry whether it is ready, and how many nodes, watching nodes, "
                "services and instances it has. Exit status 1 if any cannot be reached.")

    async def run(self, session: Session) -> int:
        rows, documents, status = [], [], OK
        for url in session.registries:
            try:
                health = await Session(
                    [url], session.http, session.clock, session.out, session.token).command("health")
            except HttpError as e:
                status = REMOTE_ERROR
                documents.append({"registry": url, "status": "unreachable", "error": e.message})
                rows.append([url, "unreachable", None, None, None, None, None, None, None])
                session.out.error(e.message if isinstance(e, RegistryUnreachable) else str(e))
                continue
            documents.append({"registry": url, **health})
            rows.append([url, health.get("status"), health.get("epoch"), health.get("version"), health.get("nodes"),
                         health.get("watching"), health.get("services"), health.get("instances"),
                         seconds(health.get("uptime"))])
        if self.json:
            session.out.documents(documents)
        else:
            session.out.table(["REGISTRY", "STATUS", "EPOCH", "VERSION", "NODES", "WATCHING", "SERVICES",
                               "INSTANCES", "UPTIME"], rows, right=[8])
        return status


class List(Command):
    """
    Services and their instance counts; -l (or a SERVICE) for each instance.
    """

    synopsis = "[-l] [SERVICE]"
    longdesc = ("List the services and how many instances each has. With -l, or for one SERVICE, list each "
                "instance: its location, node, lease age, and what it says of itself at /_micro/health "
                "(serving or draining, calls in flight).")
    optFlags = [["long", "l", "One line per instance, with its node, lease and health."]]

    def parseArgs(self, *given: str) -> None:
        (self.service,) = arguments(given, "at most a SERVICE", 0, 1)

    async def run(self, session: Session) -> int:
        table = await session.command("lookup", "all")
        if self.service is not None:
            if self.service not in table:
                raise UnknownService(self.service)
            table = {self.service: table[self.service]}
        out = session.out
        if not (self["long"] or self.service):
            if self.json:
                out.document({name: len(locations) for name, locations in sorted(table.items())})
            else:
                out.table(["SERVICE", "INSTANCES"], [[name, len(locs)] for name, locs in sorted(table.items())])
            return OK
        nodes = {i["location"]: (n["node"], n["lease_age"]) for n in await session.command("nodes")
                 for i in n["instances"]}
        listed = [(name, location) for name, locations in sorted(table.items()) for location in locations]
        checks = [Deferred.fromCoroutine(session.instance_health(location)) for _, location in listed]
        healths = await gatherResults(checks) if checks else []
        documents = []
        for (name, location), health in zip(listed, healths):
            node, lease_age = nodes.get(location, (None, None))
            documents.append({"service": name, "location": location, "node": node, "lease_age": lease_age,
                              "status": health.get("status"), "in_flight": health.get("in_flight")})
        if self.json:
            out.documents(documents)
        else:
            out.table(["SERVICE", "LOCATION", "NODE", "LEASE AGE", "STATUS", "IN FLIGHT"],
                      [[d["service"], d["location"], d["node"], seconds(d["lease_age"]), d["status"], d["in_flight"]]
                       for d in documents], right=[3, 5])
        return OK


class Nodes(Command):
    """
    The nodes: what each hosts, its lease, whether it watches.
    """

    synopsis = ""
    longdesc = ("List the processes taking part in the cluster (nodes): their instances, how long ago each "
                "renewed its lease and how long the lease has left, whether it watches the table and the "
                "table version it holds.")

    async def run(self, session: Session) -> int:
        nodes = await session.command("nodes")
        if self.json:
            session.out.documents(nodes)
            return OK
        rows = [[n["node"], len(n["instances"]), _services(n["instances"]), seconds(n["lease_age"]),
                 seconds(n["expires_in"]), n["watching"], n["version"]] for n in nodes]
        session.out.table(["NODE", "INSTANCES", "SERVICES", "LEASE AGE", "EXPIRES IN", "WATCHING", "VERSION"],
                          rows, right=[3, 4])
        return OK


def _services(instances: list[dict[str, str]]) -> str:
    counts: dict[str, int] = {}
    for instance in instances:
        counts[instance["service"]] = counts.get(instance["service"], 0) + 1
    return ", ".join(name if n == 1 else f"{name} x{n}" for name, n in counts.items()) or "-"


class Routes(Command):
    """
    The HTTP routes of the front door.
    """

    synopsis = ""
    longdesc = "List the registry's HTTP routes: path, service, data type, and how many instances serve it."

    async def run(self, session: Session) -> int:
        routes = await session.command("routes")
        if self.json:
            session.out.documents(routes)
            return OK
        table = await session.command("lookup", "all")
        session.out.table(["PATH", "SERVICE", "DATA TYPE", "INSTANCES"],
                          [[r["path"], r["service"], r["dataType"], len(table.get(r["service"], []))] for r in routes])
        return OK


class Channels(Command):
    """
    The pub/sub channels with subscribers.
    """

    synopsis = ""
    longdesc = "List the pub/sub channels (and patterns) that have subscribers, and the subscriber locations."

    async def run(self, session: Session) -> int:
        channels = await session.command("channels")
        if self.json:
            session.out.documents(channels)
            return OK
        session.out.table(["CHANNEL", "SUBSCRIBERS", "LOCATIONS"],
                          [[c["channel"], len(c["subscribers"]), ", ".join(c["subscribers"])] for c in channels])
        return OK


class Lookup(Command):
    """
    One location of a service, picked at random by the registry.
    """

    synopsis = "NAME"
    longdesc = "Print one location of service NAME, picked at random by the registry, as {\"lookup\": NAME} does."

    def parseArgs(self, *given: str) -> None:
        (self.service,) = arguments(given, "a service NAME", 1, 1)

    async def run(self, session: Session) -> int:
        location: Any = await session.command("lookup", self.service)
        if self.json:
            session.out.document({"service": self.service, "location": location})
        else:
            session.out.line(str(location))
        return OK
