# -*- test-case-name: tests.http.test_wire_client -*-
"""
The lean client protocol: whole requests and replies over persistent
connections to plain C{http} peers at IP addresses (and C{localhost}).

A request is one write of a pre-built head and its body; the reply is
parsed by L{micro._http.wire_parse} into a status, the raw header lines
and the body, with no C{Headers}, C{IResponse} or body protocol in
between.  A connection goes back to its peer's idle list once its reply is
whole, and is lent out again under the rules of the Agent's pool
(L{micro._http.pool}): never after half the servers' idle timeout, never
once its peer has closed it, at most so many per peer.

Failures are those of C{Agent}, so that L{micro._http.failures.classify}
reads them alike: L{ConnectError} when connecting fails,
L{ResponseNeverReceived} when the connection is lost before any byte of
the reply, L{ResponseFailed} when it is lost (or the reply is malformed)
after that, C{CancelledError} when the request is cancelled.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from micro._http.pool import peer_closed
from micro._http.sending import send_now
from micro._http.response import FullResponse
from micro._http.wire_parse import ParseError, ResponseParser, TooLarge
from micro._kernel.errors import HttpError

Key = tuple[str, int]


class WireProtocol(Protocol):
    """
    One persistent connection, carrying one request at a time.

    @ivar reused: Whether the current request is not the connection's first.
    """

    def __init__(self, pool: WirePool, key: Key):
        self._pool = pool
        self.key = key
        self.idle_since = 0.0
        self.reused = False
        self._parser: ResponseParser | None = None
        self._done: Deferred[FullResponse] | None = None
        self.closed: Deferred[None] = Deferred()

    def send(self, data: bytes, parser: ResponseParser) -> Deferred[FullResponse]:
        """
        Write one whole request; the reply, once parsed.
        """
        self._parser = parser
        done: Deferred[FullResponse] = Deferred(self._cancel)
        self._done = done
        send_now(self.transport, data)
        return done

    def dataReceived(self, data: bytes) -> None:
        parser, done = self._parser, self._done
        if parser is None or done is None:
            self.abort()  # bytes no idle connection should receive
            return
        try:
            reply = parser.feed(data)
        except TooLarge as e:
            self._fail(Failure(HttpError(502, str(e))))
            return
        except ParseError:
            self._fail(Failure(ResponseFailed([Failure()])))
            return
        if reply is None:
            if parser.sink is not None:
                parser.sink.flush(self.transport)
            return
        self._parser = self._done = None
        if parser.keep_alive:
            self._pool.put(self)
        else:
            self.transport.loseConnection()  # type: ignore[union-attr]
        done.callback(reply)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self._pool.forget(self)
        parser, done = self._parser, self._done
        self._parser = self._done = None
        if done is not None and parser is not None:
            if not parser.started:
                done.errback(ResponseNeverReceived([reason]))
            else:
                reply = parser.finish()
                if reply is None:
                    done.errback(ResponseFailed([reason]))
                else:
                    done.callback(reply)
        self.closed.callback(None)

    def abort(self) -> None:
        transport = self.transport
        if transport is not None:
            transport.abortConnection()  # type: ignore[attr-defined]

    def _fail(self, failure: Failure) -> None:
        done = self._done
        self._parser = self._done = None
        self.abort()
        if done is not None:
            done.errback(failure)

    def _cancel(self, done: Deferred[FullResponse]) -> None:
        self._parser = self._done = None
        self.abort()


class WirePool:
    """
    Connections to each peer, and the idle ones among them.

    @ivar expiry: Seconds after which an idle connection is not lent out
        again but closed.
    """

    def __init__(self, reactor: Any, max_idle: int, expiry: float, connect_timeout: float):
        self._reactor = reactor
        self._max_idle = max_idle
        self.expiry = expiry
        self._connect_timeout = connect_timeout
        self._idle: dict[Key, list[WireProtocol]] = {}
        self._sweep: Any = None

    def take(self, key: Key) -> WireProtocol | None:
        """
        An idle connection to C{key} that may be lent out, if there is one.
        """
        idle = self._idle.get(key)
        if idle:
            oldest = self._reactor.seconds() - self.expiry
            while idle:
                protocol = idle.pop()
                if protocol.idle_since <= oldest or peer_closed(protocol):
                    protocol.abort()
                    continue
                protocol.reused = True
                return protocol
        return None

    def connect(self, key: Key) -> Deferred[WireProtocol]:
        """
        A new connection to C{key}.
        """
        endpoint = TCP4ClientEndpoint(self._reactor, key[0], key[1], timeout=self._connect_timeout)
        return endpoint.connect(_Factory(self, key))  # type: ignore[return-value]

    def put(self, protocol: WireProtocol) -> None:
        """
        Keep C{protocol} for the next request to its peer.
        """
        idle = self._idle.setdefault(protocol.key, [])
        if len(idle) >= self._max_idle:
            protocol.transport.loseConnection()  # type: ignore[union-attr]
            return
        protocol.idle_since = self._reactor.seconds()
        idle.append(protocol)
        if self._sweep is None:
            self._sweep = self._reactor.callLater(self.expiry, self._expire)

    def forget(self, protocol: WireProtocol) -> None:
        idle = self._idle.get(protocol.key)
        if idle and protocol in idle:
            idle.remove(protocol)

    def close(self) -> Deferred[Any]:
        """
        Close every idle connection; fires once they are closed.
        """
        if self._sweep is not None and self._sweep.active():
            self._sweep.cancel()
        self._sweep = None
        idle = [protocol for connections in self._idle.values() for protocol in connections]
        self._idle.clear()
        for protocol in idle:
            protocol.transport.loseConnection()  # type: ignore[union-attr]
        return DeferredList([protocol.closed for protocol in idle])

    def _expire(self) -> None:
        self._sweep = None
        now = self._reactor.seconds()
        oldest = now - self.expiry
        soonest = None
        for idle in list(self._idle.values()):
            while idle and idle[0].idle_since <= oldest:
                idle.pop(0).transport.loseConnection()  # type: ignore[union-attr]
            if idle and (soonest is None or idle[0].idle_since < soonest):
                soonest = idle[0].idle_since
        self._idle = {key: idle for key, idle in self._idle.items() if idle}
        if soonest is not None:
            self._sweep = self._reactor.callLater(soonest + self.expiry - now, self._expire)


class _Factory(Factory):
    noisy = False

    def __init__(self, pool: WirePool, key: Key):
        self._pool = pool
        self._key = key

    def buildProtocol(self, addr: Any) -> WireProtocol:
        return WireProtocol(self._pool, self._key)


def exchange(pool: WirePool, key: Key, data: bytes, make_parser: Callable[[], ResponseParser],
             retry: bool) -> Deferred[FullResponse]:
    """
    Send C{data} on a connection to C{key}; the reply.

    With C{retry}, a request lost on a reused connection before any byte
    of its reply is sent once more on a new one (for idempotent requests
    without a body, as C{Agent} does).
    """
    protocol = pool.take(key)
    if protocol is not None:
        d = protocol.send(data, make_parser())
        if retry:
            # Cancelling d while the new attempt runs cancels that attempt.
            d.addErrback(_resend, pool, key, data, make_parser)
        return d
    return _on_new_connection(pool, key, data, make_parser)


def _resend(failure: Failure, pool: WirePool, key: Key, data: bytes,
            make_parser: Callable[[], ResponseParser]) -> Deferred[FullResponse] | Failure:
    if not failure.check(ResponseNeverReceived):
        return failure
    return _on_new_connection(pool, key, data, make_parser)


def _on_new_connection(pool: WirePool, key: Key, data: bytes,
                       make_parser: Callable[[], ResponseParser]) -> Deferred[FullResponse]:
    """
    Send C{data} on a new connection to C{key}; the reply.
    """
    current: list[Deferred[Any]] = []

    def cancel(d: Deferred[FullResponse]) -> None:
        if current:
            current[-1].cancel()

    result: Deferred[FullResponse] = Deferred(cancel)

    def connected(protocol: WireProtocol) -> Deferred[FullResponse]:
        d = protocol.send(data, make_parser())
        current.append(d)
        return d

    first = pool.connect(key)
    current.append(first)
    first.addCallback(connected)
    first.addBoth(_pass_on, result)
    return result


def _pass_on(outcome: Any, result: Deferred[Any]) -> None:
    if not result.called:
        if isinstance(outcome, Failure):
            result.errback(outcome)
        else:
            result.callback(outcome)
    elif isinstance(outcome, Failure):
        outcome.trap(Exception)  # the result was cancelled: drop what came after
