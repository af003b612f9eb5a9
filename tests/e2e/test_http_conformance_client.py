"""
End to end: the HTTP of Python's http.client against a twistd registry's
front door (a route) and an instance directly (its C{POST /} call and the
same route), on 127.0.0.1 (tests/_conformance.py): keep-alive for several
requests on one connection, chunked bodies, HEAD with no body read, and
C{Expect: 100-continue}.  test_http_conformance.py does the same with curl
and wrk.
"""

from __future__ import annotations

import http.client
import json
import socket
from contextlib import closing
from typing import Any, Iterator

import pytest

from tests._conformance import CHUNKS, LARGE, TIMEOUT, digest

pytestmark = pytest.mark.e2e


def _connection(port: int) -> closing[http.client.HTTPConnection]:
    return closing(http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT))


def _json(response: http.client.HTTPResponse) -> Any:
    assert response.status == 200, (response.status, response.read())
    return json.loads(response.read())


def _get(connection: http.client.HTTPConnection, n: int) -> None:
    connection.request("GET", f"/conformance/echo?n={n}")
    assert _json(connection.getresponse())["payload"] == {"n": str(n)}


def _on_one_socket(connection: http.client.HTTPConnection, requests: Iterator[None]) -> None:
    """
    Run C{requests} (a generator that makes one request per step) and check
    that they all went on one socket, and one more GET after them too.
    """
    # The socket objects themselves, held: a closed one's id could be reused.
    sockets = [connection.sock for _ in requests]
    _get(connection, 99)
    sockets.append(connection.sock)
    assert sockets[0] is not None and all(s is sockets[0] for s in sockets), sockets


def test_http_client_keep_alive(target: int) -> None:
    """
    Seven requests, GET and POST, on one connection: the socket never changes.
    """
    def requests() -> Iterator[None]:
        for n in range(3):
            _get(connection, n)
            yield
            connection.request("POST", "/conformance/tree/p", body=json.dumps({"n": n}),
                               headers={"Content-Type": "application/json"})
            assert _json(connection.getresponse())["payload"] == {"n": n}
            yield

    with _connection(target) as connection:
        _on_one_socket(connection, requests())


def test_http_client_calls_keep_alive_on_the_instance(front_door: dict[str, int]) -> None:
    """
    C{POST /} calls and route requests mixed on one connection to the instance.
    """
    def requests() -> Iterator[None]:
        for n in range(3):
            connection.request("POST", "/", body=json.dumps({"n": n}), headers={"Content-Type": "application/json"})
            assert _json(connection.getresponse()) == {"method": "POST", "path": "/", "payload": {"n": n}}
            yield
            _get(connection, n)
            yield

    with _connection(front_door["instance"]) as connection:
        _on_one_socket(connection, requests())


def test_http_client_chunked_body(target: int) -> None:
    """
    A chunked body (encode_chunked), then a plain request on the same connection.
    """
    def requests() -> Iterator[None]:
        connection.request("POST", "/conformance/echo", body=iter(CHUNKS), encode_chunked=True,
                           headers={"Transfer-Encoding": "chunked", "Content-Type": "application/octet-stream"})
        body = b"".join(CHUNKS)
        assert _json(connection.getresponse()) == {"method": "POST", "path": "/conformance/echo",
                                                   "size": len(body), "sha256": digest(body)}
        yield

    with _connection(target) as connection:
        _on_one_socket(connection, requests())


def test_http_client_chunked_call_on_the_instance(front_door: dict[str, int]) -> None:
    """
    A C{POST /} call whose JSON body comes chunked.
    """
    text = json.dumps({"items": list(range(2000))}).encode()
    pieces = [text[i:i + 1000] for i in range(0, len(text), 1000)]
    with _connection(front_door["instance"]) as connection:
        connection.request("POST", "/", body=iter(pieces), encode_chunked=True,
                           headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"})
        assert _json(connection.getresponse())["payload"] == {"items": list(range(2000))}


def test_http_client_head_with_no_body_read(target: int) -> None:
    """
    HEAD: a 200 with the GET's Content-Type and Content-Length, no body:
    http.client reads nothing off the socket for it (its read() is empty
    by the method alone), so the next request on the connection parses
    only if the server sent no body either.
    """
    def requests() -> Iterator[None]:
        connection.request("GET", "/conformance/echo?n=1")
        got = connection.getresponse()
        body = got.read()
        yield
        connection.request("HEAD", "/conformance/echo?n=1")
        head = connection.getresponse()
        assert head.status == 200
        assert head.getheader("content-type") == got.getheader("content-type")
        # The handler echoes the method: HEAD's body would be one byte longer.
        assert head.getheader("content-length") in (None, str(len(body.replace(b'"GET"', b'"HEAD"'))))
        assert head.read() == b""
        yield

    with _connection(target) as connection:
        _on_one_socket(connection, requests())


def _interim(sock: socket.socket) -> bytes:
    """
    Read an interim reply's head, byte by byte, so nothing after it is taken.
    """
    head = b""
    while not head.endswith(b"\r\n\r\n") and len(head) < 1024:
        byte = sock.recv(1)
        if not byte:
            break
        head += byte
    return head


def test_http_client_expect_100_continue(target: int) -> None:
    """
    The client sends only the head with C{Expect: 100-continue}, waits for
    100 Continue, then sends 4 MiB; the final answer has it whole.
    """
    with _connection(target) as connection:
        connection.putrequest("POST", "/conformance/echo")
        connection.putheader("Content-Type", "application/octet-stream")
        connection.putheader("Content-Length", str(len(LARGE)))
        connection.putheader("Expect", "100-continue")
        connection.endheaders()
        assert connection.sock is not None
        assert _interim(connection.sock).startswith(b"HTTP/1.1 100 ")
        connection.send(LARGE)
        assert _json(connection.getresponse()) == {"method": "POST", "path": "/conformance/echo",
                                                   "size": len(LARGE), "sha256": digest(LARGE)}
