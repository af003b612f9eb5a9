# -*- test-case-name: tests.calls.test_failover -*-
"""
Sending one call to some instance of a service, with failover.

Shared by nodes (C{call_service}) and by the registry (the C{call} command).
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import Deferred, fail
from twisted.logger import Logger
from twisted.python.failure import Failure

from micro._calls.balancer import RoundRobin
from micro._http.client import HttpClient, FullResponse
from micro._http.failures import Kind, classify
from micro._kernel.errors import HttpError, UnknownService
from micro._kernel.observer import Observer
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import MISDIRECTED, SERVICE_HEADER

def call_headers(content_type: bytes, service: bytes, propagation: Propagation) -> list[tuple[bytes, bytes]]:
    """
    The headers of one call, as C{(name, value)} pairs: its content type,
    the target service, and the context it carries.
    """
    headers = [(b"content-type", content_type), (SERVICE_HEADER, service)]
    headers += propagation.headers().items()
    return headers


class Misdirected(Exception):
    """
    The instance at a location is not one of the service called: the
    location changed hands.  Nothing ran, so the call may go elsewhere.
    """


def _seconds(value: float) -> str:
    return f"{value:g}s"


@define
class Caller:
    """
    POST a body to instances of a service until one takes it.

    A request that fails before it could reach the instance (connection
    refused, no route, name lookup, or a reset that shows the instance
    never read it) is sent to the next instance.  A request that may have
    reached an instance is not sent again unless the caller asked for
    C{retries}.  Either way the failed instance becomes a suspect
    that other calls avoid until the registry says what became of it; so
    does one that let a call run out of time.

    The timeout bounds the whole call, failovers included; when it runs out
    the request in flight is cancelled and the call fails with a 504.
    Cancelling the call cancels the request in flight and tries no other.

    @ivar _locations: Where the instances of a service are, in order.
    @ivar observer: Told of every instance a call leaves (or fails at).
    """

    _http: HttpClient
    _balancer: RoundRobin
    _locations: Callable[[str], list[str]]
    observer: Observer | None = None

    _log = Logger()

    def pick(self, service: str) -> str | None:
        """
        The next instance of C{service} by round-robin, or C{None}.
        """
        return self._balancer.pick(service, self._locations(service))

    def send(self, service: str, location: str, body: bytes, content_type: bytes,
             timeout: float, retries: int = 0, propagation: Propagation | None = None) -> Deferred[FullResponse]:
        """
        Send to C{location} first, then to others as failures allow, all
        within C{timeout} seconds, carrying C{propagation} (a new one if
        C{None}: the call starts a request).
        """
        deadline = self._http.reactor.seconds() + timeout
        propagation = propagation or Propagation.new()
        headers = call_headers(content_type, service.encode("utf-8"), propagation)
        call = _Call(service, body, headers, timeout, deadline, retries, propagation)
        return self._attempt(call, location)

    def _attempt(self, call: _Call, location: str) -> Deferred[FullResponse]:
        call.tried.append(location)
        remaining = max(call.deadline - self._http.reactor.seconds(), 0.0)
        d = self._http.request(b"POST", location.encode("utf-8"), call.body, call.headers, remaining)
        d.addCallback(_check_target, location)
        d.addErrback(self._failed, call, location)
        return d

    def _failed(self, failure: Failure, call: _Call, location: str) -> Deferred[FullResponse] | Failure:
        if failure.check(HttpError):
            return failure
        if failure.check(Misdirected):
            self._balancer.suspect(location)
            why, reason = str(failure.value), "misdirected"
            status, again = 503, True
        else:
            outcome = classify(failure)
            if outcome.kind is Kind.CANCELLED:
                return failure
            if outcome.kind is Kind.TIMED_OUT:
                # A host that vanished gives no other sign: without this, new
                # calls would keep going to it until its lease ran out.
                self._balancer.suspect(location)
                self._left(call, "timeout", location)
                return call.failure(504, f"no reply from {location} within {_seconds(call.timeout)}")
            self._balancer.suspect(location)
            if outcome.kind is Kind.NOT_SENT:
                why, reason = f"{location} is unreachable ({outcome.detail})", "refused"
                status, again = 503, True
            elif outcome.kind is Kind.RESET_UNREAD:
                why = f"{location} reset the connection without reading the request (its process is likely gone)"
                status, again, reason = 503, True, "reset_unread"
            else:
                why, reason = f"{location} dropped the request ({outcome.detail})", "dropped"
                status, again = 502, call.retries > 0
                call.retries -= 1
        self._left(call, reason, location)
        if again and self._http.reactor.seconds() < call.deadline:
            following = self._balancer.pick(call.service, self._locations(call.service), exclude=call.tried)
            if following is not None:
                self._log.info("call to {service}: {why}; trying {following} (request {request_id}, trace {trace_id})",
                               service=call.service, why=why, following=following,
                               request_id=call.propagation.request_id, trace_id=call.propagation.trace_id)
                return self._attempt(call, following)
        return call.failure(status, why)


    def _left(self, call: _Call, reason: str, location: str) -> None:
        if self.observer is not None:
            self.observer.failed_over(call.service, reason, location, call.propagation)


def _check_target(reply: FullResponse, location: str) -> FullResponse:
    if reply.code == MISDIRECTED:
        other = reply.header(SERVICE_HEADER)
        if other is not None:
            raise Misdirected(f"{location} now hosts service {other.decode('utf-8', 'replace')!r}")
    return reply


@define
class _Call:
    """
    One call on its way through instances: what to send, and what is left
    of its time and retries.
    """

    service: str
    body: bytes
    headers: list[tuple[bytes, bytes]]
    timeout: float
    deadline: float
    retries: int
    propagation: Propagation
    tried: list[str] = field(factory=list)

    def failure(self, status: int, why: str) -> Failure:
        left = "" if len(self.tried) == 1 else f" (tried {len(self.tried)} instances)"
        return Failure(HttpError(status, f"call to {self.service!r} failed: {why}{left}"))


def unknown_service(service: str) -> Deferred[Any]:
    return fail(UnknownService(service))
