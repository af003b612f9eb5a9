# -*- test-case-name: tests.http.test_wire_client -*-
"""
Requests on the lean client: which URLs it takes, and their bytes.

It takes C{http} URLs whose host is an IPv4 address or C{localhost}
(the locations of instances and registries); anything else (C{https},
IPv6, host names, user info, fragments) is left to the C{Agent}.  The
request line and C{Host} header of a URL are built once and kept.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from twisted.internet.abstract import isIPAddress
from twisted.internet.defer import Deferred
from twisted.web.http_headers import Headers

from micro._http.response import FullResponse, RawHeaders
from micro._http.wire_client import Key, WirePool, exchange
from micro._http.wire_parse import BodySink, ResponseParser

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_PATH = re.compile(rb"/[\x21-\x7e]*\Z")
_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"DELETE", b"PUT"})
_WITH_LENGTH = frozenset({b"POST", b"PUT", b"PATCH"})
MAX_TARGETS = 4096


def target(url: bytes) -> tuple[Key, bytes] | None:
    """
    Where C{url} connects to and the rest of its request line and C{Host}
    header (C{b" /path HTTP/1.1\\r\\nHost: ...\\r\\n"}); C{None} if the lean
    client does not take it.
    """
    split = _split(url)
    if split is None:
        return None
    key, path, host_header = split
    return key, b" " + path + b" HTTP/1.1\r\nHost: " + host_header + b"\r\n"


def _split(url: bytes) -> tuple[Key, bytes, bytes] | None:
    """
    Where C{url} connects to, its path (and query) and its C{Host} header's
    value; C{None} if the lean client does not take it.
    """
    if not url.startswith(b"http://") or b"#" in url or b"@" in url:
        return None
    rest = url[7:]
    ends = [i for i in (rest.find(b"/"), rest.find(b"?")) if i >= 0]
    cut = min(ends) if ends else len(rest)
    authority, path = rest[:cut], rest[cut:]
    if not path.startswith(b"/"):
        path = b"/" + path
    if not _PATH.match(path):
        return None
    host, colon, port_text = authority.rpartition(b":")
    if not colon:
        host, port_text = authority, b"80"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    name = host.decode("ascii", "replace")
    address = "127.0.0.1" if name.lower() == "localhost" else name
    if not isIPAddress(address):
        return None
    port = int(port_text)
    return (address, port), path, host if port == 80 else host + b":" + port_text


def _peer(location: bytes) -> tuple[Key, bytes] | None:
    """
    For a location without a path (C{http://host:port}): where it connects
    to and the end of a request line and C{Host} header that any target
    goes before; C{None} if the lean client does not take it.
    """
    split = _split(location)
    if split is None or split[1] != b"/" or location.endswith(b"/"):
        return None
    key, _, host_header = split
    return key, b" HTTP/1.1\r\nHost: " + host_header + b"\r\n"


class WireClient:
    """
    Send whole requests to the peers the lean client takes.
    """

    def __init__(self, pool: WirePool):
        self.pool = pool
        self._targets: dict[bytes, tuple[Key, bytes] | None] = {}
        self._peers: dict[bytes, tuple[Key, bytes] | None] = {}
        self._methods: set[bytes] = set()
        self._names: set[bytes] = set()

    def request(self, method: bytes, url: bytes, body: bytes | None, headers: Headers | RawHeaders | None,
                limit: int | None) -> Deferred[FullResponse] | None:
        """
        Send one request; the reply, or C{None} if C{url} is not for this client.
        """
        found = _cached(self._targets, url, target)
        if found is None:
            return None
        key, line = found
        return self._exchange(method, key, line, body, headers, lambda head: ResponseParser(limit, head))

    def stream(self, method: bytes, location: bytes, target: bytes, body: bytes | None, headers: RawHeaders,
               sink: BodySink) -> Deferred[FullResponse] | None:
        """
        Send one request for C{target} (a path and query, already checked
        as a proxy checks them) to C{location}, a peer's base URL; its
        reply goes to C{sink} as it arrives (the result, once it is whole,
        has no body).  C{None} if the location is not for this client.
        """
        peer = _cached(self._peers, location, _peer)
        if peer is None:
            return None
        key, line = peer
        return self._exchange(method, key, b" " + target + line, body, headers,
                              lambda head: ResponseParser(None, head, sink))

    def _exchange(self, method: bytes, key: Key, line: bytes, body: bytes | None,
                  headers: Headers | RawHeaders | None,
                  parser_for: Callable[[bool], ResponseParser]) -> Deferred[FullResponse]:
        data = self._build(method, line, body, headers)
        head = method == b"HEAD"
        retry = body is None and method in _IDEMPOTENT
        return exchange(self.pool, key, data, lambda: parser_for(head), retry)

    def takes(self, location: bytes) -> bool:
        """
        Whether requests to C{location}, a peer's base URL, go by this client.
        """
        return _cached(self._peers, location, _peer) is not None

    def _build(self, method: bytes, line: bytes, body: bytes | None, headers: Headers | RawHeaders | None) -> bytes:
        if method not in self._methods:
            if not _TOKEN.match(method):
                raise ValueError(f"invalid HTTP method {method!r}")
            self._methods.add(method)
        parts = [method, line]
        if body is not None:
            parts.append(b"Content-Length: %d\r\n" % len(body))
        elif method in _WITH_LENGTH:
            parts.append(b"Content-Length: 0\r\n")
        if headers:
            self._add_headers(parts, headers)
        parts.append(b"\r\n")
        if body:
            parts.append(body)
        return b"".join(parts)

    def close(self) -> Deferred[Any]:
        return self.pool.close()

    def _add_headers(self, parts: list[bytes], headers: Headers | RawHeaders) -> None:
        pairs: Any = headers
        if isinstance(headers, Headers):
            pairs = [(name, value) for name, values in headers.getAllRawHeaders() for value in values]
        names = self._names
        for name, value in pairs:
            if name not in names:
                if not _TOKEN.match(name):
                    raise ValueError(f"invalid header name {name!r}")
                if len(names) < MAX_TARGETS:
                    names.add(name)
            if b"\n" in value or b"\r" in value:
                # as Headers does: a line break cannot start another header
                value = value.replace(b"\r\n", b" ").replace(b"\r", b" ").replace(b"\n", b" ")
            parts += (name, b": ", value, b"\r\n")


def _cached(table: dict[bytes, tuple[Key, bytes] | None], url: bytes,
            parse: Callable[[bytes], tuple[Key, bytes] | None]) -> tuple[Key, bytes] | None:
    """
    C{parse(url)}, kept in C{table} (emptied when it holds L{MAX_TARGETS}).
    """
    try:
        return table[url]
    except KeyError:
        if len(table) >= MAX_TARGETS:
            table.clear()
        found = table[url] = parse(url)
        return found
