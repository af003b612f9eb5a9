"""
A raw HTTP/1.1 client for tests that need to send what a polite client
would not: any bytes as body, any headers, oversized heads.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from attrs import frozen


@frozen
class CommandReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(port: int, method: bytes, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b"",
         timeout: float = 10.0) -> CommandReply:
    """
    Send one request on a new connection to 127.0.0.1:C{port} and read the
    whole reply (the request asks the server to close afterwards).
    """
    head = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close",
            b"Content-Length: %d" % len(body)]
    head.extend(name + b": " + value for name, value in headers)
    data = b"\r\n".join(head) + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_reply(s)


def read_reply(sock: socket.socket) -> CommandReply:
    """
    Read a reply until the server closes the connection.
    """
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return parse_reply(b"".join(chunks))


def parse_reply(raw: bytes) -> CommandReply:
    """
    A whole HTTP reply read off a socket: status, headers, body.
    """
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return CommandReply(status, headers, body)


def _unchunk(body: bytes) -> bytes:
    out = []
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        body = rest[size + 2:]
    return b"".join(out)
