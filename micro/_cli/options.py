# -*- test-case-name: tests.cli.test_options -*-
"""
The command line of C{micro}: global options, then a command.
"""

from __future__ import annotations

import os
from typing import Mapping

from twisted.python import usage

from micro import __version__
from micro._cli import bench, cache, calls, inspect, pubsub, top, watch
from micro._kernel.config import DEFAULT_REGISTRY_URL, check_registry_url
from micro._kernel.errors import HttpError


class GlobalUsageError(usage.UsageError):
    """
    A wrong global option (or environment), whatever the command.
    """


def registry_urls(text: str) -> list[str]:
    """
    The registry URLs of a comma-separated list, each checked.
    """
    urls = []
    for part in text.split(","):
        part = part.strip()
        try:
            check_registry_url(part, "a registry URL")
        except HttpError as e:
            raise usage.UsageError(e.message) from None
        urls.append(part.rstrip("/"))
    return urls


def read_token(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError as e:
        raise usage.UsageError(f"cannot read --token-file {path}: {e.strerror}") from None
    if not token:
        raise usage.UsageError(f"--token-file {path} is empty")
    return token


class MicroOptions(usage.Options):
    """
    C{micro [global options] COMMAND [arguments and options]}.
    """

    synopsis = "Usage: micro [--registry URL[,URL]] [--token-file PATH] [--json] COMMAND [ARGUMENTS]"
    longdesc = ("Inspect, call, publish to, watch and measure a micro cluster. 'micro COMMAND --help' "
                "tells more of each command. Exit status: 0 when the command did what it was asked, "
                "1 when the cluster answered with an error or could not be reached (the status and "
                "message go to standard error), 2 for a wrong command line.")
    optParameters = [
        ["registry", "r", None,
         "The registry's URL, or several separated by commas, tried in order. "
         f"Default: $MICRO_REGISTRY_URL, else {DEFAULT_REGISTRY_URL}."],
        ["token-file", None, None,
         "A file holding the registry token, for commands that change state (publish, subscribe). "
         "Default: $MICRO_REGISTRY_TOKEN."],
    ]
    optFlags = [["json", None, "Machine output: JSON, one document per line."]]
    subCommands = [
        ["health", None, inspect.Health, "Each registry's health and counts."],
        ["ls", None, inspect.List, "Services and their instances (-l: location, node, lease, health)."],
        ["nodes", None, inspect.Nodes, "The nodes: instances, lease, watching."],
        ["routes", None, inspect.Routes, "The HTTP routes of the front door."],
        ["channels", None, inspect.Channels, "The pub/sub channels with subscribers."],
        ["lookup", None, inspect.Lookup, "One location of a service, picked at random."],
        ["call", None, calls.Call, "Call a service with a JSON payload."],
        ["get", None, calls.Get, "GET a path through the front door."],
        ["post", None, calls.Post, "POST a body to a path through the front door."],
        ["put", None, calls.Put, "PUT a body to a path through the front door."],
        ["delete", None, calls.Delete, "DELETE a path through the front door."],
        ["publish", None, pubsub.Publish, "Publish a JSON message to a channel."],
        ["subscribe", None, pubsub.Subscribe, "Print a channel's messages until Ctrl-C."],
        ["watch", None, watch.Watch, "Print the table's changes as they happen."],
        ["cache", None, cache.Cache, "The cache service: get, set, del, keys."],
        ["bench", None, bench.Bench, "Call a service as fast as it answers; calls/s and latency."],
        ["top", None, top.Top, "Per-service rates, errors, latency, in flight; refreshed."],
    ]

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.environ = os.environ if environ is None else environ
        self.registries: list[str] = []
        self.token: str | None = None

    def getSynopsis(self) -> str:
        """
        The whole synopsis; a command's own starts with the global options only.
        """
        if self.subCommand:
            return "Usage: micro [--registry URL[,URL]] [--token-file PATH] [--json]"
        return str(self.synopsis)

    def opt_version(self) -> None:
        """
        Print the version of micro and exit.
        """
        print(f"micro {__version__}")
        raise SystemExit(0)

    def postOptions(self) -> None:
        if not self.subCommand:
            raise GlobalUsageError("no command given")
        try:
            self._settings()
        except usage.UsageError as e:
            raise GlobalUsageError(str(e)) from None

    def _settings(self) -> None:
        self.registries = registry_urls(self["registry"] or self.environ.get("MICRO_REGISTRY_URL")
                                        or DEFAULT_REGISTRY_URL)
        if self["token-file"]:
            self.token = read_token(self["token-file"])
        else:
            self.token = self.environ.get("MICRO_REGISTRY_TOKEN") or None
