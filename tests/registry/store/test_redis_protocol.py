"""
The txredisapi protocol micro uses parses a reply of many elements in the
turn it arrives (txredisapi's own takes one reactor turn per element); and
the txredisapi internals micro relies on are there.
"""

from __future__ import annotations

from typing import Any

import pytest

from micro._registry.store.redis_link import protocol_parsing_in_one_turn

txredisapi = pytest.importorskip("txredisapi", reason="txredisapi (the extra 'redis') is not installed")


class _Transport:
    disconnecting = False

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def write(self, data: bytes) -> None:
        pass


def _reply(elements: int) -> bytes:
    parts = [b"*%d\r\n" % elements]
    for n in range(elements):
        value = b"entry-%d" % n
        parts.append(b"$%d\r\n%s\r\n" % (len(value), value))
    return b"".join(parts)


def _protocol(cls: Any) -> Any:
    protocol = cls(convertNumbers=False)
    protocol.transport = _Transport()
    protocol.connected = 1
    return protocol


def test_a_reply_of_many_elements_is_parsed_at_once() -> None:
    """
    2,000 bulk elements arriving in one read give the whole reply in the same call, split anywhere.
    """
    data = _reply(2000)
    for cut in (len(data), 7, len(data) // 2 + 3):
        protocol = _protocol(protocol_parsing_in_one_turn())
        replies: list[Any] = []
        protocol.replyQueue.get().addCallback(replies.append)
        protocol.dataReceived(data[:cut])
        protocol.dataReceived(data[cut:])
        assert replies == [[f"entry-{n}" for n in range(2000)]]


def test_txredisapi_still_parses_one_element_per_turn() -> None:
    """
    txredisapi's own protocol leaves the rest of a reply for later turns (why micro replaces it), and the
    pool's factory takes its protocol from an attribute micro sets.
    """
    protocol = _protocol(txredisapi.RedisProtocol)
    calls: list[Any] = []
    protocol.callLater = lambda delay, f, *args: calls.append((f, args))
    replies: list[Any] = []
    protocol.replyQueue.get().addCallback(replies.append)
    protocol.dataReceived(_reply(3))
    assert replies == [] and len(calls) == 1
    assert "protocol" in vars(txredisapi.RedisFactory) and hasattr(txredisapi.RedisFactory, "initialDelay")
    # RedisLink takes a connection from the pool itself, to drop it when a call on it times out.
    assert callable(txredisapi.RedisFactory.getConnection) and callable(txredisapi.RedisProtocol.execute_command)
