# -*- test-case-name: tests.observe.test_observer -*-
"""
The one interface through which micro's hot paths are observed (metrics,
spans, access logs), and what a process is asked to observe.

A few places call it: the node's call router (a call made), the caller
(a call failing over to another instance), an instance (a call served),
the registry's route proxy (a route request), its pub/sub hub (a delivery)
and a node's pub/sub (a message published, a message handled).  Each holds
an L{Observer} or C{None}; with C{None}, which is the default, observing
costs one attribute test.  The implementation lives in
L{micro._observe.observer}.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from attrs import frozen
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

from micro._kernel.errors import HttpError
from micro._kernel.propagation import Propagation

# Access log formats: Apache's combined format (plus duration and ids), or
# one JSON object per line.
ACCESS_LOG_FORMATS = ("combined", "json")


@frozen
class Observability:
    """
    What a process observes beyond its logs.

    @ivar metrics: Serve Prometheus metrics at C{/_micro/metrics} (needs
        the C{metrics} extra, C{prometheus-client}).
    @ivar metrics_open: Serve them without the registry token even in
        production (C{MICRO_ENV=production}).
    @ivar access_log: A path (C{"-"}: standard output) to write one line
        per route request (registry) or call served (instances) to, or
        C{None}.
    @ivar access_log_format: One of L{ACCESS_LOG_FORMATS}.
    @ivar tracing: Record OpenTelemetry spans: C{None} when a tracer
        provider is configured (and C{opentelemetry-api} installed),
        C{False} never.
    """

    metrics: bool = False
    metrics_open: bool = False
    access_log: str | None = None
    access_log_format: str = "combined"
    tracing: bool | None = None


def status_of(outcome: Any) -> int:
    """
    The HTTP status a result, an exception or a L{Failure} stands for: 200
    for a result, an L{HttpError}'s own status, 504 for a cancellation (a
    timeout), 500 for anything else.
    """
    error = outcome.value if isinstance(outcome, Failure) else outcome
    if isinstance(error, HttpError):
        return error.status
    if isinstance(error, BaseException):
        return 504 if isinstance(error, CancelledError) else 500
    return 200


class Watch(Protocol):
    """
    One piece of work under observation: a call, a route request, a message.

    @ivar propagation: The context it carries on: the span recorded for it
        is the parent of what it leads to.  C{None} when nothing needed it
        (metrics alone): it is then made where it is needed, as without
        an observer.
    """

    propagation: Propagation | None

    def done(self, outcome: Any) -> Any:
        """
        It ended with C{outcome} (a result, a L{Failure} or an exception);
        returns C{outcome}, so that it fits in a Deferred's callbacks.
        """


class Observer(Protocol):
    """
    What micro reports to whoever observes a process.
    """

    def calling(self, service: str, propagation: Propagation | None) -> Watch:
        """
        A call to C{service} starts here (C{call_service}, C{ctx.call}).
        """

    def failed_over(self, service: str, reason: str, location: str, propagation: Propagation) -> None:
        """
        A call to C{service} at C{location} failed for C{reason}
        (C{refused}, C{reset_unread}, C{misdirected}, C{dropped},
        C{timeout}); the caller avoids that instance from now on.
        """

    def serving(self, service: str, propagation: Callable[[], Propagation]) -> Watch:
        """
        An instance of C{service} starts serving a call, whose context
        C{propagation()} gives (read from the request only if needed).
        """

    def routing(self, request: Any, method: bytes, route: str | None, service: str | None,
                propagation: Propagation) -> Watch:
        """
        The registry starts proxying C{request} (its head just in) along
        C{route} (C{None}: no route matched); the watch ends itself when
        the reply is finished.
        """

    def delivery(self, channel: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """
        The registry starts delivering a message on C{channel} to one
        subscriber; call what this returns with the delivery's outcome.
        """

    def publishing(self, channel: str, propagation: Propagation) -> Watch:
        """
        A node publishes a message on C{channel}.
        """

    def consuming(self, channel: str, propagation: Propagation) -> Watch:
        """
        A handler starts on a message of C{channel}.
        """
