"""
The wire vocabulary has one home: no other module spells a header name or
a framework path itself, so the two sides cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import micro
from micro._kernel import protocol as _protocol

MICRO = Path(micro.__file__).resolve().parent
PROTOCOL = Path(_protocol.__file__).resolve()


def _spelled_elsewhere(literal: str) -> list[str]:
    return [str(path.relative_to(MICRO)) for path in sorted(MICRO.rglob("*.py"))
            if path.resolve() != PROTOCOL and literal in path.read_text(encoding="utf-8")]


def test_header_names_are_spelled_only_in_the_protocol_module() -> None:
    """
    Every micro header name appears as a literal in _protocol alone.
    """
    for header in (_protocol.TOKEN_HEADER, _protocol.SERVICE_HEADER, _protocol.ROUTE_HEADER):
        name = header.decode("ascii")
        assert _spelled_elsewhere(f'b"{name}"') == [], name
        assert _spelled_elsewhere(f'"{name}"') == [], name


def test_framework_paths_are_spelled_only_in_the_protocol_module() -> None:
    """
    The /_micro/ endpoints both sides use are named in _protocol alone.
    """
    for path in (_protocol.HEALTH_PATH, _protocol.DELIVERY_PATH):
        assert _spelled_elsewhere(f'"{path}"') == [], path


def test_client_keeps_idle_connections_shorter_than_servers() -> None:
    """
    The pool's idle timeout is below the servers' (a reused connection is never one being closed).
    """
    from twisted.internet.testing import MemoryReactorClock

    from micro._http.client import HttpClient

    client = HttpClient.create(MemoryReactorClock())
    assert client._pool is not None
    assert client._pool.cachedConnectionTimeout < _protocol.IDLE_TIMEOUT
