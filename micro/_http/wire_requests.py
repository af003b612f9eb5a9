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
    host_header = host if port == 80 else host + b":" + port_text
    return (address, port), b" " + path + b" HTTP/1.1\r\nHost: " + host_header + b"\r\n"


class WireClient:
    """
    Send whole requests to the peers the lean client takes.
    """

    def __init__(self, pool: WirePool):
        self.pool = pool
        self._targets: dict[bytes, tuple[Key, bytes] | None] = {}
        self._methods: set[bytes] = set()
        self._names: set[bytes] = set()

    def request(self, method: bytes, url: bytes, body: bytes | None, headers: Headers | RawHeaders | None,
                limit: int | None) -> Deferred[FullResponse] | None:
        """
        Send one request; the reply, or C{None} if C{url} is not for this client.
        """
        return self._send(method, url, body, headers, lambda head: ResponseParser(limit, head))

    def stream(self, method: bytes, url: bytes, body: bytes | None, headers: RawHeaders,
               sink: BodySink) -> Deferred[FullResponse] | None:
        """
        Send one request; its reply goes to C{sink} as it arrives (the
        result, once it is whole, has no body).  C{None} if C{url} is not
        for this client.
        """
        return self._send(method, url, body, headers, lambda head: ResponseParser(None, head, sink))

    def _send(self, method: bytes, url: bytes, body: bytes | None, headers: Headers | RawHeaders | None,
              parser_for: Callable[[bool], ResponseParser]) -> Deferred[FullResponse] | None:
        built = self._build(method, url, body, headers)
        if built is None:
            return None
        key, data = built
        head = method == b"HEAD"
        retry = body is None and method in _IDEMPOTENT
        return exchange(self.pool, key, data, lambda: parser_for(head), retry)

    def takes(self, url: bytes) -> bool:
        """
        Whether requests to C{url} go by this client.
        """
        return self._target(url) is not None

    def _target(self, url: bytes) -> tuple[Key, bytes] | None:
        targets = self._targets
        try:
            return targets[url]
        except KeyError:
            if len(targets) >= MAX_TARGETS:
                targets.clear()
            found = targets[url] = target(url)
            return found

    def _build(self, method: bytes, url: bytes, body: bytes | None,
               headers: Headers | RawHeaders | None) -> tuple[Key, bytes] | None:
        found = self._target(url)
        if found is None:
            return None
        if method not in self._methods:
            if not _TOKEN.match(method):
                raise ValueError(f"invalid HTTP method {method!r}")
            self._methods.add(method)
        key, line = found
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
        return key, b"".join(parts)

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
