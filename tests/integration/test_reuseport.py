"""
SO_REUSEPORT listening on real sockets: two registries' sockets on one port.
"""

from __future__ import annotations

import socket

import pytest

from micro._twistd.reuseport import listen_reusing_port

pytestmark = pytest.mark.integration


def test_two_listeners_share_a_port() -> None:
    """
    Two sockets made by listen_reusing_port bind the same port; without it a second bind fails.
    """
    adopted: list[int] = []

    class Reactor:
        def adoptStreamPort(self, fd: int, family: int, factory: object) -> socket.socket:
            adopted.append(fd)
            return socket.socket(fileno=socket.dup(fd))

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = listen_reusing_port(Reactor(), f"tcp:{port}:interface=127.0.0.1", object())
    second = listen_reusing_port(Reactor(), f"tcp:{port}:interface=127.0.0.1", object())
    try:
        assert first.getsockname() == second.getsockname() == ("127.0.0.1", port)
        with socket.socket() as plain, pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    finally:
        first.close()
        second.close()
    assert len(adopted) == 2
