# -*- test-case-name: tests.http.test_shared_replies -*-
"""
One copy of a large reply for every connection that sends it.

C{twisted.web} writes a reply's head and body to the connection as
separate pieces, and the transport joins what it holds into one string
before sending: a copy of the whole body per connection, kept until the
client has read it.  When the registry answers 10,000 watches with the
same table changes, that was a copy of the changes per watching node, and
most of the registry's peak memory while a storm of registrations went
out to nodes slower to read than the registry is to write
(bench/bench_scale.py).

So a large body goes out joined to its head here instead, once per head
and body: every connection given the same body (by identity) with the same
head (same status and headers, within the same second of the Date header)
is given the same string, which the transport sends without copying it.
"""

from __future__ import annotations

from attrs import define, field

# Bodies smaller than this are written as Twisted writes them: copying
# them costs less than looking them up.
SHARED_FROM = 2048

# How many recent replies are kept joined: a broadcast answers nodes
# behind by a few different amounts at once.
RECENT = 8


@define
class SharedReplies:
    """
    The recent large replies, head and body joined.
    """

    size: int = RECENT
    _recent: dict[int, tuple[bytes, bytes, bytes]] = field(factory=dict, init=False)

    def joined(self, head: bytes, body: bytes) -> bytes:
        """
        C{head + body}, the same string for the same head and body.
        """
        entry = self._recent.get(id(body))
        if entry is not None and entry[1] is body and entry[0] == head:
            return entry[2]
        whole = head + body
        if len(self._recent) >= self.size:
            del self._recent[next(iter(self._recent))]
        self._recent[id(body)] = (head, body, whole)
        return whole

    def __len__(self) -> int:
        return len(self._recent)
