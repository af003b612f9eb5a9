# -*- test-case-name: tests.test_caller -*-
"""
Sending one call to some instance of a service, with failover.

Shared by nodes (C{call_service}) and by the registry (the C{call} command).
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define
from twisted.internet.defer import Deferred, fail
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from ._balancer import RoundRobin
from ._errors import HttpError
from ._http_client import HttpClient, Reply, not_sent, timed_out

_HEADERS: dict[bytes, Headers] = {}


def content_headers(content_type: bytes) -> Headers:
    """
    Shared request headers for a content type (the Agent copies them).
    """
    headers = _HEADERS.get(content_type)
    if headers is None:
        headers = _HEADERS[content_type] = Headers({b"content-type": [content_type]})
    return headers


def _seconds(value: float) -> str:
    return f"{value:g}s"


@define
class Caller:
    """
    POST a body to instances of a service until one takes it.

    A request that fails before it could reach the instance (connection
    refused, no route, name lookup) is sent to the next instance, and the
    failed one is suspected so other calls avoid it until the registry
    says what became of it.  A request that may have reached an instance is
    not sent again unless the caller asked for C{retries}.

    @ivar _locations: Where the instances of a service are, in order.
    """

    _http: HttpClient
    _balancer: RoundRobin
    _locations: Callable[[str], list[str]]

    _log = Logger()

    def pick(self, service: str) -> str | None:
        """
        The next instance of C{service} by round-robin, or C{None}.
        """
        return self._balancer.pick(service, self._locations(service))

    def send(self, service: str, location: str, body: bytes, content_type: bytes,
             timeout: float, retries: int = 0, headers: Headers | None = None) -> Deferred[Reply]:
        """
        Send to C{location} first, then to others as failures allow.
        """
        return self._attempt(service, location, body, headers or content_headers(content_type),
                             timeout, retries, [])

    def _attempt(self, service: str, location: str, body: bytes, headers: Headers,
                 timeout: float, retries: int, tried: list[str]) -> Deferred[Reply]:
        tried.append(location)
        d = self._http.request(b"POST", location.encode("utf-8"), body, headers, timeout)
        d.addErrback(self._failed, service, location, body, headers, timeout, retries, tried)
        return d

    def _failed(self, failure: Failure, service: str, location: str, body: bytes, headers: Headers,
                timeout: float, retries: int, tried: list[str]) -> Deferred[Reply] | Failure:
        if failure.check(HttpError):
            return failure
        if not_sent(failure):
            self._balancer.suspect(location)
            why = f"{location} is unreachable ({_describe(failure)})"
            again = True
        elif timed_out(failure):
            why = f"no reply from {location} within {_seconds(timeout)}"
            again = retries > 0
            retries -= 1
        else:
            why = f"{location} dropped the request ({_describe(failure)})"
            again = retries > 0
            retries -= 1
        if again:
            following = self._balancer.pick(service, self._locations(service), exclude=tried)
            if following is not None:
                self._log.info("call to {service}: {why}; trying {following}",
                               service=service, why=why, following=following)
                return self._attempt(service, following, body, headers, timeout, retries, tried)
        status = 504 if timed_out(failure) else (503 if not_sent(failure) else 502)
        left = "" if len(tried) == 1 else f" (tried {len(tried)} instances)"
        return fail(HttpError(status, f"call to {service!r} failed: {why}{left}"))


def _describe(failure: Failure) -> str:
    value = failure.value
    reasons = getattr(value, "reasons", None)
    if reasons:
        value = reasons[0].value
    text = str(value).strip().rstrip(".")
    name = type(value).__name__
    return f"{name}: {text}" if text and name not in text else (text or name)


def unknown_service(service: str) -> Deferred[Any]:
    return fail(HttpError(404, f"no service named {service!r} is registered"))
