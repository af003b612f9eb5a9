# -*- test-case-name: tests.node.test_drain -*-
"""
A running instance of a service: serving calls, over HTTP or in-process,
and shutting down without dropping any.
"""

from __future__ import annotations

from typing import Any, Callable

from attrs import define, field
from twisted.internet.defer import CancelledError, Deferred, fail, maybeDeferred, succeed
from twisted.internet.interfaces import IListeningPort
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest

from micro._http.limits import too_large
from micro._http.respond import respond_later, write_error
from micro._http.site import MicroSite
from micro._kernel.codec import MalformedBody, across, decode_payload, encode_value
from micro._kernel.deferreds import Once, stop_timer, wait_at_most
from micro._kernel.errors import HttpError, counted
from micro._kernel.observer import Observer, Watch
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import MISDIRECTED, SERVICE_HEADER
from micro._node.context import Context, propagation_of
from micro._node.handler import ServiceHandler, as_http_error
from micro._node.host import DRAIN_TIMEOUT, SETTLE_TIMEOUT, Host
from micro._node.request_info import RequestInfo


@define(eq=False)
class ServiceInstance:
    """
    One instance of a service, hosted by a node at C{location}.

    Calls are counted while they run so that L{terminate} can wait for
    them, and when they end, in the node's L{CallStats}.
    """

    handler: ServiceHandler
    location: str
    _node: Host
    port: IListeningPort | None = None
    site: MicroSite | None = None
    registered: bool = field(default=False, init=False)
    _in_flight: int = field(default=0, init=False)
    _counted_call: Callable[[float, bool], None] = field(init=False)
    _now: Callable[[], float] = field(init=False)
    _observer: Observer | None = field(init=False)
    _idle: list[Deferred[None]] = field(factory=list, init=False)
    _stopping: Once = field(factory=Once, init=False)

    _log = Logger()

    def __attrs_post_init__(self) -> None:
        self._counted_call = self._node.call_stats.of(self.handler.name).record
        self._now = self._node.reactor.seconds
        self._observer = self._node.observer

    @property
    def name(self) -> str:
        return self.handler.name

    def __repr__(self) -> str:
        state = ", draining" if self.draining else ""
        return f"ServiceInstance({self.name!r} at {self.location}{state})"

    @property
    def node(self) -> Host:
        return self._node

    @property
    def _name_bytes(self) -> bytes:
        return self.handler.name.encode("utf-8")

    @property
    def draining(self) -> bool:
        return self._stopping.started

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # -- serving ----------------------------------------------------------

    def serve_call(self, request: IRequest) -> Any:
        """
        Answer a call that came over HTTP (C{POST /}).
        """
        target = request.getHeader(SERVICE_HEADER)
        if target is not None and target != self._name_bytes:
            return self._misdirected(request, target)
        try:
            payload = decode_payload(request.content.read(), request.getHeader(b"content-type"))
        except MalformedBody as e:
            return write_error(request, HttpError(400, f"bad payload for {self.name!r}: {e}"))
        return self.answer(request, payload, self._write_result)

    def answer(self, request: IRequest, payload: Any, write_result: Callable[[IRequest, Any], bytes]) -> Any:
        """
        Run the handler on C{payload} for C{request} and answer with
        C{write_result(request, result)} or the error it raised.

        The request counts as running until its reply is written: a drain
        waiting for it closes the connection as soon as the count drops.
        """
        self._in_flight += 1
        started = self._now()
        watch = None if self._observer is None else self._observer.serving(self.name, lambda: propagation_of(request))
        try:
            result = self.handler.invoke(payload, lambda: Context(self._node, self.name, request,
                                                                  None if watch is None else watch.propagation))
        except Exception:
            failure = Failure()
            self._ended(started, failure, watch)
            return self._write_error(request, failure)
        if not isinstance(result, Deferred):
            self._ended(started, result, watch)
            return write_result(request, result)
        result.addBoth(self._counted, started, watch)
        answered = respond_later(request, result, lambda value: write_result(request, value),
                                 lambda failure: self._write_error(request, failure), f"service {self.name!r}")
        result.addBoth(self._finished_async)
        return answered

    def _misdirected(self, request: IRequest, target: bytes) -> bytes:
        request.setHeader(SERVICE_HEADER, self._name_bytes)
        return write_error(request, HttpError(MISDIRECTED, (
            f"{self.location} hosts service {self.name!r}, not {target.decode('utf-8', 'replace')!r}")))

    def _write_result(self, request: IRequest, result: Any) -> bytes:
        try:
            body, content_type = encode_value(result)
        except TypeError as e:
            return write_error(request, self._unencodable(e))
        request.setHeader(b"content-type", content_type)
        return body

    def _write_error(self, request: IRequest, failure: Failure) -> bytes:
        settings = self._node.settings
        error = self._as_error(failure, propagation_of(request))
        return write_error(request, error, with_traceback=settings.development)

    def _unencodable(self, error: TypeError) -> HttpError:
        return HttpError(500, f"service {self.name!r} returned a value that cannot be sent: {error}")

    # -- in-process calls ---------------------------------------------------

    def call_in_process(self, payload: Any, content_type: bytes, size: int, timeout: float,
                        propagation: Propagation | None) -> Deferred[Any]:
        """
        Run a call without HTTP, with the same results: C{payload} has
        crossed the encoding already (L{across}: C{size} bytes of
        C{content_type}), the result crosses it back, errors become the same
        L{HttpError}s, a payload over the limit gets the same 413, and the
        handler's C{ctx} carries C{propagation} as the headers would.
        """
        limit = self._node.max_payload_bytes
        if limit is not None and size > limit:
            return fail(HttpError(413, too_large(limit)))
        self._in_flight += 1
        started = self._now()
        watch = None if self._observer is None else self._observer.serving(
            self.name, lambda: propagation or Propagation.new())
        propagation = propagation if watch is None or watch.propagation is None else watch.propagation
        try:
            result = self.handler.invoke(payload, lambda: self._in_process_context(content_type, propagation))
        except Exception:
            failure = Failure()
            self._ended(started, failure, watch)
            return fail(self._as_error(failure, propagation))
        if not isinstance(result, Deferred):
            self._ended(started, result, watch)
            try:
                return succeed(self._across(result))
            except HttpError as e:
                return fail(e)
        timer = self._node.reactor.callLater(timeout, result.cancel)
        result.addBoth(self._counted, started, watch)
        result.addBoth(self._finished_async)
        result.addBoth(stop_timer, timer)
        return result.addCallbacks(self._across, self._failed_in_process, errbackArgs=(timer, timeout, propagation))

    def _across(self, result: Any) -> Any:
        try:
            return across(result)[0]
        except TypeError as e:
            raise self._unencodable(e) from None

    def _in_process_context(self, content_type: bytes, propagation: Propagation | None) -> Context:
        """
        The C{ctx} of an in-process call: what it would carry over HTTP,
        with a new request id if the call started a request.
        """
        carried = propagation or Propagation.new()
        return Context(self._node, self.name, RequestInfo.in_process(self.location, content_type, carried), carried)

    def _as_error(self, failure: Failure, propagation: Propagation | None) -> HttpError:
        settings = self._node.settings
        return as_http_error(failure, self.name, development=settings.development, production=settings.production,
                             propagation=propagation)

    def _failed_in_process(self, failure: Failure, timer: Any, timeout: float,
                           propagation: Propagation | None) -> Failure:
        if failure.check(CancelledError) and timer.called:
            return Failure(HttpError(
                504, f"call to {self.name!r} failed: no reply from {self.location} within {timeout:g}s"))
        return Failure(self._as_error(failure, propagation))

    # -- lifetime ---------------------------------------------------------

    def _finished(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0 and self._idle:
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)

    def _ended(self, started: float, outcome: Any, watch: Watch | None) -> None:
        """
        A call that ran synchronously ended with C{outcome} (its result, or a L{Failure}).
        """
        self._finished()
        self._counted_call(self._now() - started, isinstance(outcome, Failure))
        if watch is not None:
            watch.done(outcome)

    def _finished_async(self, result: Any) -> Any:
        self._finished()
        return result

    def _counted(self, result: Any, started: float, watch: Watch | None) -> Any:
        self._counted_call(self._now() - started, isinstance(result, Failure))
        return result if watch is None else watch.done(result)

    def idle(self) -> Deferred[None]:
        """
        Fires when no call is running.
        """
        if self._in_flight == 0:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._idle.append(d)
        return d

    def terminate(self, drain_timeout: float = DRAIN_TIMEOUT, settle_timeout: float = SETTLE_TIMEOUT) -> Deferred[None]:
        """
        Leave gracefully: unregister, wait until callers' tables no longer
        list this instance (at most C{settle_timeout}), stop listening, let
        running calls finish (at most C{drain_timeout}), close connections.
        """
        return self._stopping(lambda: self._terminate(drain_timeout, settle_timeout))

    async def _terminate(self, drain_timeout: float, settle_timeout: float) -> None:
        node = self._node
        await node.leave(self, settle_timeout)
        if self.port is not None:
            await maybeDeferred(self.port.stopListening)
        if self._in_flight:
            self._log.info("{service}: waiting for {calls}", service=self.name,
                           calls=counted(self._in_flight, "running call"))
            await wait_at_most(node.reactor, self.idle(), drain_timeout)
            if self._in_flight:
                self._log.warn("{service}: {calls} still running after {timeout}s; closing",
                               service=self.name, calls=counted(self._in_flight, "call"), timeout=drain_timeout)
        if self.site is not None:
            # A reply returned by a render that just ended the drain is
            # written after the render returns: close on the next turn.
            await deferLater(node.reactor, 0)
            self.site.close_connections()
        node.forget(self)
        self._log.info("{service} at {location} stopped", service=self.name, location=self.location)
