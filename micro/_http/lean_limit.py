# -*- test-case-name: tests.http.test_limits -*-
"""
How large the body of one request on a lean channel may be: a number of
bytes, or a L{FirstKeyLimit} that the body's first bytes choose, as
L{micro._http.early_request.EarlyRequest} does for C{twisted.web}.
"""

from __future__ import annotations

from micro._http.limits import FIRST_KEY_WITHIN, FirstKeyLimit, too_large


class BodyCap:
    """
    The cap of one request body.

    @ivar limit: The most bytes it may have now (C{None}: no limit); while
        its first bytes have not chosen yet, the larger of the two.
    """

    __slots__ = ("limit", "_choosing", "_chooser", "_declared")

    def __init__(self, limit: int | FirstKeyLimit | None, declared: int | None):
        self._choosing: FirstKeyLimit | None = None
        self._chooser: FirstKeyLimit | None = None
        self._declared = declared
        if isinstance(limit, FirstKeyLimit):
            if declared is not None and declared <= limit.limit:
                limit = limit.limit
            else:
                self._choosing, limit = limit, limit.larger
        self.limit: int | None = limit

    @property
    def choosing(self) -> bool:
        return self._choosing is not None

    def declared_over(self) -> str | None:
        """
        Why the declared length is refused at once, if it is.
        """
        declared, limit = self._declared, self.limit
        if limit is not None and declared is not None and declared > limit:
            return too_large(limit)
        return None

    def choose(self, prefix: bytes, received: int) -> str | None:
        """
        Let the body's first bytes (C{prefix}, of C{received} so far)
        choose the limit, once they show enough (or pass the smaller
        limit); why the body is refused, if it is.
        """
        choosing = self._choosing
        assert choosing is not None
        prefix = prefix[:FIRST_KEY_WITHIN]
        if not choosing.decides(prefix) and received <= choosing.limit:
            return None
        self._choosing = None
        limit = self.limit = choosing.limit_for(prefix)
        if limit == choosing.limit:
            self._chooser = choosing
            if self._declared is not None and self._declared > limit:
                return choosing.refusal(limit, self._declared)
        return None

    def over(self, size: int) -> str | None:
        """
        Why a body of C{size} bytes (so far) is refused, if it is.
        """
        limit = self.limit
        if limit is None or size <= limit:
            return None
        chooser = self._chooser
        return too_large(limit) if chooser is None else chooser.refusal(limit, None)
