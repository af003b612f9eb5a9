# -*- test-case-name: tests.observe.test_access_log -*-
"""
One line per request: route traffic at the registry, calls served at
instances.

Two formats.  C{combined}: Apache's combined log format, which log tools
read, followed by the duration in seconds, the request id and the trace
id (nginx-style extra fields); a call served reads as the request line
C{"CALL service"}.  C{json}: one JSON object per line with named fields.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any, Callable

from attrs import define

from micro._kernel.observer import ACCESS_LOG_FORMATS
from micro._kernel.propagation import Propagation


def _quoted(value: bytes | str | None) -> str:
    """
    A field for a quoted part of the combined format: C{"-"} for none,
    quotes, backslashes and unprintable bytes escaped.
    """
    if value is None:
        return "-"
    if isinstance(value, str):
        value = value.encode("utf-8", "replace")
    out = []
    for byte in value:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


@define(eq=False)
class AccessLog:
    """
    Writes access lines to C{out}, in C{format}.

    @ivar now: The wall clock (seconds since the epoch) for timestamps.
    """

    out: IO[str]
    format: str = "combined"
    now: Callable[[], float] = time.time

    @classmethod
    def open(cls, path: str, format: str = "combined") -> AccessLog:
        """
        An access log to the file at C{path} (appended to, line-buffered),
        or to standard output for C{"-"}.

        @raise ValueError: C{format} is not one of L{ACCESS_LOG_FORMATS}.
        """
        if format not in ACCESS_LOG_FORMATS:
            raise ValueError(f"access log format must be one of {', '.join(ACCESS_LOG_FORMATS)}, not {format!r}")
        out = sys.stdout if path == "-" else open(path, "a", buffering=1, encoding="utf-8")
        return cls(out, format)

    def route(self, request: Any, route: str | None, service: str | None, status: int, seconds: float,
              sent: int | None, propagation: Propagation) -> None:
        """
        One route request, once its reply is finished (or the client left).
        """
        remote = getattr(request.getClientAddress(), "host", None)
        protocol = getattr(request, "clientproto", b"HTTP/1.1")
        if self.format == "json":
            self._json({"kind": "route", "remote": remote, "method": _text(request.method), "path": _text(request.uri),
                        "route": route, "service": service, "status": status, "bytes": sent, "duration": seconds,
                        "request_id": propagation.request_id, "trace_id": propagation.trace_id,
                        "referer": _text(request.getHeader(b"referer")),
                        "user_agent": _text(request.getHeader(b"user-agent"))})
            return
        line = (f'{remote or "-"} - - [{self._stamp()}] "{_quoted(request.method)} {_quoted(request.uri)} '
                f'{_quoted(protocol)}" {status} {sent if sent else "-"} "{_quoted(request.getHeader(b"referer"))}" '
                f'"{_quoted(request.getHeader(b"user-agent"))}" {seconds:.6f} {propagation.request_id} '
                f'{propagation.trace_id}')
        self._write(line)

    def call(self, service: str, status: int, seconds: float, propagation: Propagation) -> None:
        """
        One call served by an instance of C{service}.
        """
        if self.format == "json":
            self._json({"kind": "call", "service": service, "status": status, "duration": seconds,
                        "request_id": propagation.request_id, "trace_id": propagation.trace_id})
            return
        self._write(f'- - - [{self._stamp()}] "CALL {_quoted(service)}" {status} - "-" "-" {seconds:.6f} '
                    f'{propagation.request_id} {propagation.trace_id}')

    def _stamp(self) -> str:
        return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(self.now()))

    def _json(self, fields: dict[str, Any]) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.now()))
        self._write(json.dumps({"time": stamp + "Z", **fields}, separators=(",", ":")))

    def _write(self, line: str) -> None:
        self.out.write(line + "\n")

    def close(self) -> None:
        if self.out is not sys.stdout:
            self.out.close()
