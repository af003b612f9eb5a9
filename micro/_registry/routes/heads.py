# -*- test-case-name: tests.registry.routes.test_splice -*-
"""
The header rules of the registry's route proxy, in one place for both of
its paths (L{micro._registry.routes.splice}, the lean one, and
L{micro._registry.routes.exchange}, through C{twisted.web}): which headers
go on to the instance and which it gets added, and the reply's head as the
client gets it.
"""

from __future__ import annotations

from typing import Sequence

from twisted.web.http import RESPONSES

from micro._http.lean_request import date_header, status_line
from micro._kernel.propagation import Propagation
from micro._kernel.protocol import REQUEST_ID_HEADER, ROUTE_HEADER, TOKEN_HEADER, TRACEPARENT_HEADER, TRACESTATE_HEADER

Lines = Sequence[tuple[bytes, bytes]]
_REQUEST_ID = REQUEST_ID_HEADER.lower()

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate", b"proxy-authorization",
    b"te", b"trailer", b"trailers", b"transfer-encoding", b"upgrade",
})
# Request headers that the proxy sets itself, or that must not reach a
# service: the registry token above all.
_NOT_FORWARDED = HOP_BY_HOP | {
    b"host", b"content-length", b"expect", TOKEN_HEADER, ROUTE_HEADER, REQUEST_ID_HEADER, TRACEPARENT_HEADER,
    TRACESTATE_HEADER,
    b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto",
}
NO_LENGTH_STATUSES = frozenset({204, 304})


def listed_in_connection(value: bytes | None) -> frozenset[bytes]:
    """
    The header names a C{Connection} header value lists (hop-by-hop too).
    """
    if not value:
        return frozenset()
    return frozenset(token.strip().lower() for token in value.split(b","))


def forwarded_headers(raw: Lines, connection: bytes | None, client: str | None, data_type: str,
                      propagation: Propagation, secure: bool) -> list[tuple[bytes, bytes]]:
    """
    The headers to send upstream: the client's (C{raw}), less hop-by-hop
    ones, those its C{Connection} header names and the registry token;
    plus C{X-Forwarded-*}, the route mark and the context the request
    carries on (its request id, the client's or a new one).

    C{X-Forwarded-For} keeps what earlier proxies said and appends the
    address the registry saw, the only entry a service can trust.
    """
    drop = _NOT_FORWARDED | listed_in_connection(connection) if connection else _NOT_FORWARDED
    out = []
    chain = []
    host = None
    for name, value in raw:
        lower = name.lower()
        if lower in drop:
            if lower == b"x-forwarded-for":
                chain.append(value)
            elif lower == b"host" and host is None:
                host = value
            continue
        out.append((name, value))
    if client:
        chain.append(client.encode("ascii", "replace"))
    if chain:
        out.append((b"x-forwarded-for", b", ".join(chain)))
    if host is not None:
        out.append((b"x-forwarded-host", host))
    out.append((b"x-forwarded-proto", b"https" if secure else b"http"))
    out.append((ROUTE_HEADER, data_type.encode("ascii")))
    out.extend(propagation.headers().items())
    return out


def reply_head(code: int, phrase: bytes, headers: Lines, request_id: bytes, head_request: bool,
               close: bool) -> tuple[bytes, bool]:
    """
    The head of the reply to the client, and whether its body goes chunked
    (the instance's came chunked, or until it closed the connection).

    The instance's headers pass but for hop-by-hop ones; the reply names
    the request id unless the instance did, and has a date.
    """
    connection = None
    length = chunked_upstream = named = dated = False
    for name, value in headers:
        if name == b"connection":
            connection = value if connection is None else connection + b"," + value
        elif name == b"content-length":
            length = True
        elif name == b"transfer-encoding":
            chunked_upstream = True  # chunked, or else read until the instance closed
        elif name == _REQUEST_ID:
            named = True
        elif name == b"date":
            dated = True
    drop = HOP_BY_HOP | listed_in_connection(connection) if connection else HOP_BY_HOP
    no_body = head_request or code in NO_LENGTH_STATUSES
    chunked = not no_body and (chunked_upstream or not length)
    lines = [status_line(code) if phrase == RESPONSES.get(code) else b"HTTP/1.1 %d %s\r\n" % (code, phrase)]
    for name, value in headers:
        if name in drop or (chunked and name == b"content-length"):
            continue
        lines += (name, b": ", value, b"\r\n")
    if not dated:
        lines.append(date_header())
    if not named:
        lines += (_REQUEST_ID, b": ", request_id, b"\r\n")
    if chunked:
        lines.append(b"transfer-encoding: chunked\r\n")
    if close:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    return b"".join(lines), chunked

