# -*- test-case-name: tests.cli.test_session -*-
"""
What a command of C{micro} reaches: the registries, the instances and the
front door, over one HTTP client, with the token, on an injected clock.

Several registries (C{--registry A,B}) are tried in order: a command goes
to the first that can be reached, and the next command starts from the
one that answered.  Only a request that was never sent moves on to the
next registry, so nothing runs twice.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, NoRouteError, TimeoutError
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from micro._app.node import Node
from micro._calls.balancer import RoundRobin
from micro._calls.caller import Caller
from micro._calls.decoding import decode_reply
from micro._cli.output import Output
from micro._http.client import FullResponse, HttpClient
from micro._http.failures import Kind, classify
from micro._kernel.codec import JSON_TYPE, dumps
from micro._kernel.errors import HttpError
from micro._kernel.protocol import HEALTH_PATH, TOKEN_HEADER

# Seconds a registry command may take (watches and publishes say their own).
COMMAND_TIMEOUT = 10.0

# Seconds an instance's health check may take in C{micro ls -l}.
HEALTH_TIMEOUT = 2.0

# Makes the node that hosts a temporary subscriber: (registry URL, home or None).
NodeFactory = Callable[[str, "str | None"], Node]


class RegistryUnreachable(HttpError):
    """
    No registry of the list could be reached.
    """


@define
class Session:
    """
    One run of a command, and everything it may reach.

    @ivar registries: Registry URLs, tried in order.
    @ivar make_node: Builds a node (for C{subscribe}), given a registry URL
        and the home its instances listen on.
    """

    registries: list[str]
    http: HttpClient
    clock: Any
    out: Output
    token: str | None = None
    make_node: NodeFactory | None = None
    _first: int = field(default=0, init=False)

    @property
    def registry(self) -> str:
        """
        The registry that answered last (the first of the list until then).
        """
        return self.registries[self._first]

    def _headers(self, content_type: bytes | None = JSON_TYPE) -> Headers:
        headers = Headers()
        if content_type is not None:
            headers.addRawHeader(b"content-type", content_type)
        if self.token:
            headers.addRawHeader(TOKEN_HEADER, self.token.encode("utf-8"))
        return headers

    async def command(self, name: str, argument: Any = True, timeout: float = COMMAND_TIMEOUT) -> Any:
        """
        Run a registry command on the first registry that can be reached.

        @raise HttpError: The registry's error reply; 504 if it did not
            answer in time; L{RegistryUnreachable} (503) if none could be reached.
        """
        reply = await self.send(b"POST", "/", dumps({name: argument}), self._headers(), timeout, what=name)
        return decode_reply(reply, f"the registry ({name})")

    async def send(self, method: bytes, path: str, body: bytes | None, headers: Headers | None,
                   timeout: float, *, what: str) -> FullResponse:
        """
        Send one request to C{path} of the first registry that can be
        reached and return its reply, whatever its status.
        """
        count = len(self.registries)
        unreachable: list[str] = []
        for step in range(count):
            index = (self._first + step) % count
            url = self.registries[index]
            try:
                reply = await self.http.request(method, (url + path).encode("utf-8"), body, headers, timeout)
            except CancelledError:
                raise
            except Exception:
                failure = Failure()
                outcome = classify(failure)
                if outcome.kind is Kind.CANCELLED:
                    raise CancelledError() from None
                if outcome.kind is Kind.NOT_SENT:
                    unreachable.append(f"{url} ({_why(failure, outcome.detail)})")
                    continue
                if outcome.kind is Kind.TIMED_OUT:
                    raise HttpError(504, f"the registry at {url} did not answer {what} within {timeout:g}s") from None
                raise HttpError(502, f"the connection to the registry at {url} broke during {what}: "
                                     f"{outcome.detail}") from None
            self._first = index
            return reply
        raise RegistryUnreachable(503, "cannot reach the registry at " + ", ".join(unreachable)
                                  + "; is it running? (--registry or MICRO_REGISTRY_URL)")

    async def front_door(self, method: bytes, path: str, body: bytes | None, headers: Headers,
                         timeout: float) -> FullResponse:
        """
        An HTTP request through the registry's routes, with no token (the
        front door never forwards it anyway).
        """
        return await self.send(method, path, body, headers, timeout, what=f"{method.decode()} {path}")

    async def instance_health(self, location: str) -> dict[str, Any]:
        """
        What an instance says at C{/_micro/health}; C{{"status": "unreachable"}}
        and why, if it does not answer in time.
        """
        try:
            reply = await self.http.request(b"GET", (location + HEALTH_PATH).encode("utf-8"), None, None,
                                            HEALTH_TIMEOUT)
            health = decode_reply(reply, location)
        except Exception as e:
            if classify(Failure()).kind is Kind.CANCELLED:
                raise CancelledError() from None
            return {"status": "unreachable", "error": str(e) or type(e).__name__}
        return health if isinstance(health, dict) else {"status": "unknown"}

    async def caller(self) -> Caller:
        """
        A caller over the registry's current table, as C{call_service}
        sends calls: straight to the instances, round-robin, with failover.
        """
        table = await self.command("lookup", "all")
        return Caller(self.http, RoundRobin(self.clock), lambda service: table.get(service, []))

    def node(self, home: str | None) -> Node:
        """
        A node of the cluster, for a command that hosts an instance.
        """
        if self.make_node is None:
            raise HttpError(501, "this session cannot host instances")
        return self.make_node(self.registry, home)


def _why(failure: Failure, detail: str) -> str:
    """
    Why a connection could not be made, in a few words.
    """
    for kind, words in ((ConnectionRefusedError, "connection refused"), (TimeoutError, "connection timed out"),
                        (NoRouteError, "no route to host"), (DNSLookupError, "unknown host")):
        if failure.check(kind):
            return words
    return detail
