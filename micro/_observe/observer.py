# -*- test-case-name: tests.observe.test_observer -*-
"""
L{MicroObserver}: what micro does at each observed point, for whichever
of metrics, spans and the access log a process has switched on.

Metric names follow the OpenTelemetry semantic conventions, converted as
Prometheus converts them (dots to underscores, the unit appended, C{_total}
on counters): C{rpc.server.call.duration} becomes
C{rpc_server_call_duration_seconds}.  Labels are bounded: service names,
route patterns (never raw paths), channels, statuses, fixed words.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field
from twisted.python.failure import Failure

from micro._kernel.observer import Observability, status_of
from micro._kernel.propagation import Propagation
from micro._observe.access_log import AccessLog
from micro._observe.recorder import Counter, Histogram
from micro._observe.tracing import Tracing, configured_tracing

# Methods kept as a label; any other reads _OTHER (OpenTelemetry's rule).
_METHODS = frozenset(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"])
_STATUSES = {status: str(status) for status in range(100, 600)}


@define(eq=False)
class CallMetrics:
    """
    The series micro records as work happens (the rest is read when scraped).
    """

    server: Histogram = field(factory=lambda: Histogram(
        "rpc_server_call_duration_seconds", "Calls served by this process's instances, by service and status.",
        ("rpc_method", "rpc_response_status_code")))
    client: Histogram = field(factory=lambda: Histogram(
        "rpc_client_call_duration_seconds", "Calls made from this process (failovers included), by service "
        "and status.", ("rpc_method", "rpc_response_status_code")))
    routes: Histogram = field(factory=lambda: Histogram(
        "http_server_request_duration_seconds", "Route requests at the registry's front door.",
        ("http_route", "http_request_method", "http_response_status_code")))
    failovers: Counter = field(factory=lambda: Counter(
        "micro_call_failovers", "Calls that left an instance for another (or failed there), by reason.",
        ("service", "reason")))
    deliveries: Counter = field(factory=lambda: Counter(
        "micro_pubsub_deliveries", "Pub/sub deliveries to one subscriber process, by outcome.",
        ("channel", "outcome")))
    delivery_time: Histogram = field(factory=lambda: Histogram(
        "micro_pubsub_delivery_seconds", "Time from publishing to a subscriber process's answer.", ("channel",)))

    def all(self) -> list[Any]:
        return [self.server, self.client, self.routes, self.failovers, self.deliveries, self.delivery_time]


def _outcome(result: dict[str, Any]) -> str:
    errors = result.get("errors") or []
    if not errors:
        return "ok"
    status = errors[0].get("status")
    return {504: "timeout", 503: "unreachable"}.get(status, "error")


@define(eq=False)
class MicroObserver:
    """
    An L{micro._kernel.observer.Observer} over what is switched on.
    """

    clock: Any
    metrics: CallMetrics | None = None
    tracing: Tracing | None = None
    access_log: AccessLog | None = None

    @classmethod
    def build(cls, clock: Any, observability: Observability, tracer_provider: Any = None) -> MicroObserver | None:
        """
        The observer C{observability} asks for, or C{None} if it asks for
        nothing (then micro's hot paths observe nothing at all).
        """
        tracing = configured_tracing(observability.tracing, tracer_provider)
        access_log = (AccessLog.open(observability.access_log, observability.access_log_format)
                      if observability.access_log else None)
        if not (observability.metrics or tracing or access_log):
            return None
        return cls(clock, CallMetrics() if observability.metrics else None, tracing, access_log)

    def _start(self, kind: str, name: str, span_name: str, propagation: Propagation,
               attributes: dict[str, Any]) -> _Watch:
        span = None
        if self.tracing is not None:
            span, propagation = self.tracing.start(span_name, kind, propagation, attributes)
        return _Watch(self, kind, name, self.clock.seconds(), propagation, span)

    def calling(self, service: str, propagation: Propagation | None) -> _Watch:
        if self.tracing is None:  # the propagation is made when needed, as without an observer
            return _Watch(self, "client", service, self.clock.seconds(), propagation, None)
        return self._start("client", service, f"call {service}", propagation or Propagation.new(),
                           {"rpc.system": "micro", "rpc.method": service})

    def serving(self, service: str, propagation: Callable[[], Propagation]) -> _Watch:
        if self.tracing is None and self.access_log is None:
            return _Watch(self, "server", service, self.clock.seconds(), None, None)
        return self._start("server", service, service, propagation(), {"rpc.system": "micro", "rpc.method": service})

    def publishing(self, channel: str, propagation: Propagation) -> _Watch:
        return self._start("producer", channel, f"publish {channel}", propagation,
                           {"messaging.system": "micro", "messaging.destination.name": channel})

    def consuming(self, channel: str, propagation: Propagation) -> _Watch:
        return self._start("consumer", channel, f"process {channel}", propagation,
                           {"messaging.system": "micro", "messaging.destination.name": channel})

    def failed_over(self, service: str, reason: str, location: str, propagation: Propagation) -> None:
        if self.metrics is not None:
            self.metrics.failovers.inc((service, reason))
        if self.tracing is not None and propagation.span is not None:
            self.tracing.event(propagation.span, "failover", {"micro.reason": reason, "server.address": location})

    def delivery(self, channel: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        started = self.clock.seconds()

        def delivered(outcome: dict[str, Any]) -> dict[str, Any]:
            if self.metrics is not None:
                self.metrics.deliveries.inc((channel, _outcome(outcome)))
                self.metrics.delivery_time.observe((channel,), self.clock.seconds() - started)
            return outcome
        return delivered

    def routing(self, request: Any, method: bytes, route: str | None, service: str | None,
                propagation: Propagation) -> _RouteWatch:
        name = method.decode("ascii", "replace")
        label = name if name in _METHODS else "_OTHER"
        server = client = None
        if self.tracing is not None:
            span_name = f"{label} {route}" if route else label
            attributes = {"http.request.method": label, **({"http.route": route} if route else {})}
            server, propagation = self.tracing.start(span_name, "server", propagation, attributes)
            if service is not None:
                client, propagation = self.tracing.start(span_name, "client", propagation,
                                                         {**attributes, "micro.service": service})
        watch = _RouteWatch(self, request, label, route, service, self.clock.seconds(), propagation, server, client)
        request.notifyFinish().addBoth(watch.done)
        return watch


@define(eq=False)
class _Watch:
    """
    A call or a message under observation.
    """

    _observer: MicroObserver
    _kind: str
    _name: str
    _started: float
    propagation: Propagation | None
    _span: Any

    def done(self, outcome: Any) -> Any:
        observer = self._observer
        status = 200 if not isinstance(outcome, (Failure, BaseException)) else status_of(outcome)
        seconds = observer.clock.seconds() - self._started
        metrics = observer.metrics
        if metrics is not None and self._kind in ("client", "server"):
            series = metrics.client if self._kind == "client" else metrics.server
            series.observe((self._name, _STATUSES.get(status) or str(status)), seconds)
        if observer.access_log is not None and self._kind == "server" and self.propagation is not None:
            observer.access_log.call(self._name, status, seconds, self.propagation)
        if self._span is not None:
            error = status >= (400 if self._kind == "client" else 500)
            attributes: dict[str, Any] = {"rpc.response.status_code": status} if self._kind in ("client", "server") else {}
            if error and not isinstance(outcome, dict):
                attributes["error.type"] = str(status) if status < 500 or status == 504 else _error_type(outcome)
            observer.tracing.end(self._span, status, attributes, error)  # type: ignore[union-attr]
        return outcome


def _error_type(outcome: Any) -> str:
    error = getattr(outcome, "value", outcome)
    return type(error).__name__ if isinstance(error, BaseException) else "500"


@define(eq=False)
class _RouteWatch:
    """
    A route request under observation, until its reply is finished.
    """

    _observer: MicroObserver
    _request: Any
    _method: str
    _route: str | None
    _service: str | None
    _started: float
    propagation: Propagation | None
    _server: Any
    _client: Any

    def done(self, outcome: Any) -> Any:
        observer, request = self._observer, self._request
        status = int(getattr(request, "code", 200))
        seconds = observer.clock.seconds() - self._started
        if observer.metrics is not None:
            observer.metrics.routes.observe((self._route or "", self._method, _STATUSES.get(status) or str(status)),
                                            seconds)
        if observer.access_log is not None and self.propagation is not None:
            observer.access_log.route(request, self._route, self._service, status, seconds,
                                      getattr(request, "sentLength", None), self.propagation)
        tracing = observer.tracing
        if tracing is not None:
            attributes = {"http.response.status_code": status}
            if self._client is not None:
                tracing.end(self._client, status, attributes, status >= 400)
            if self._server is not None:
                tracing.end(self._server, status, attributes, status >= 500)
        return None
