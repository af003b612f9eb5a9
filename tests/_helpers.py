"""
Helpers for unit tests: results of Deferreds that must already have fired.
"""

from __future__ import annotations

from typing import Any, Coroutine, TypeVar, Union

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

T = TypeVar("T")


def fired(d: Union[Deferred[T], Coroutine[Any, Any, T]]) -> T:
    """
    The result of C{d}, which must already have fired; raise its exception
    if it failed.
    """
    if not isinstance(d, Deferred):
        d = Deferred.fromCoroutine(d)
    results: list[Any] = []
    d.addBoth(results.append)
    if not results:
        raise AssertionError(f"{d!r} has not fired")
    [result] = results
    if isinstance(result, Failure):
        result.raiseException()
    return result  # type: ignore[no-any-return]


def failed(d: Union[Deferred[Any], Coroutine[Any, Any, Any]]) -> BaseException:
    """
    The exception C{d} failed with; it must already have failed.
    """
    try:
        fired(d)
    except BaseException as e:
        return e
    raise AssertionError(f"{d!r} succeeded")



def waiting(d: Deferred[Any]) -> bool:
    """
    Whether C{d} has no result yet (it may be waiting on another Deferred).
    """
    return not d.called or isinstance(d.result, Deferred)
