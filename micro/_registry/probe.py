# -*- test-case-name: tests.registry.test_probe -*-
"""
No open relay: the registry checks that a location is a micro instance of
the service it claims to be before it sends anything else there.
"""

from __future__ import annotations

from typing import Any

from attrs import define
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from micro._http.client import FullResponse, HttpClient
from micro._http.failures import Kind, classify
from micro._kernel.codec import JSON_TYPE, MalformedBody, loads, media_type
from micro._kernel.errors import HttpError
from micro._kernel.protocol import HEALTH_PATH

PROBE_TIMEOUT = 3.0
PROBE_LIMIT = 64 * 1024


@define
class LocationProbe:
    """
    Ask C{location/_micro/health} whether it hosts C{service}.

    The probe is a bodiless GET of a fixed path with a short timeout and a
    small reply limit: it carries nothing a registrant chose, so pointing
    the registry at somebody else's URL gains an attacker nothing, and the
    location never receives calls, deliveries or route traffic unless it
    answered as a micro instance.
    """

    _http: HttpClient
    timeout: float = PROBE_TIMEOUT

    def verify(self, service: str, location: str) -> Deferred[None]:
        d = self._http.request(b"GET", f"{location}{HEALTH_PATH}".encode("utf-8"),
                               timeout=self.timeout, limit=PROBE_LIMIT)
        return d.addCallbacks(_check, _unreachable, callbackArgs=(service, location),
                              errbackArgs=(service, location))


def _check(reply: FullResponse, service: str, location: str) -> None:
    document: Any = None
    if reply.code == 200 and media_type(reply.header(b"content-type")) == JSON_TYPE:
        try:
            document = loads(reply.body)
        except MalformedBody:
            document = None
    if not isinstance(document, dict) or document.get("micro") is not True:
        raise HttpError(400, f"{location} does not answer as a micro instance (its /_micro/health "
                             f"answered {reply.code}); nothing was registered")
    if document.get("service") != service:
        raise HttpError(400, f"{location} is a micro instance of {document.get('service')!r}, "
                             f"not of {service!r}; nothing was registered")


def _unreachable(failure: Failure, service: str, location: str) -> None:
    if failure.check(HttpError):
        failure.raiseException()
    outcome = classify(failure)
    why = {Kind.TIMED_OUT: "it did not answer in time",
           Kind.NOT_SENT: "nothing accepts connections there"}.get(outcome.kind, outcome.detail)
    raise HttpError(503, f"cannot check that {location} hosts {service!r}: {why}; nothing was registered")
