"""
Service functions: how they are called, and how their failures look.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure

from micro import HttpError
from micro._node.handler import ServiceHandler, as_http_error
from tests._helpers import fired


def _context() -> str:
    return "ctx"


def test_arity_decides_whether_ctx_is_passed() -> None:
    """
    fn(payload) gets the payload; fn(payload, ctx) gets ctx too; a second
    parameter with a default gets ctx only if named ctx.
    """
    def one(payload):  # type: ignore[no-untyped-def]
        return ("one", payload)

    def two(payload, ctx):  # type: ignore[no-untyped-def]
        return ("two", payload, ctx)

    def named(payload, ctx=None):  # type: ignore[no-untyped-def]
        return ("named", payload, ctx)

    def none():  # type: ignore[no-untyped-def]
        return "none"

    def star(*args):  # type: ignore[no-untyped-def]
        return args

    assert ServiceHandler.wrap(one).invoke(1, _context) == ("one", 1)
    assert ServiceHandler.wrap(two).invoke(1, _context) == ("two", 1, "ctx")
    assert ServiceHandler.wrap(named).invoke(1, _context) == ("named", 1, "ctx")
    assert ServiceHandler.wrap(lambda payload, tag="t": (payload, tag), "l").invoke(1, _context) == (1, "t")
    assert ServiceHandler.wrap(none).invoke(1, _context) == "none"
    assert ServiceHandler.wrap(star).invoke(1, _context) == (1, "ctx")


def test_async_and_deferred_results_become_deferreds() -> None:
    """
    async def results are run as Deferreds; Deferreds pass through.
    """
    async def coroutine(payload: Any) -> Any:
        return await succeed(payload + 1)

    result = ServiceHandler.wrap(coroutine).invoke(1, _context)
    assert isinstance(result, Deferred) and fired(result) == 2
    d: Deferred[int] = succeed(5)
    assert ServiceHandler.wrap(lambda payload: d, "d").invoke(1, _context) is d


def test_name_defaults_to_function_name() -> None:
    """
    A service is named after its function unless told otherwise.
    """
    def calculateService(payload):  # type: ignore[no-untyped-def]
        return payload

    assert ServiceHandler.wrap(calculateService).name == "calculateService"
    assert ServiceHandler.wrap(calculateService, "calc").name == "calc"


def _failure(exception: BaseException) -> Failure:
    try:
        raise exception
    except BaseException:
        return Failure()


def test_http_errors_pass_unchanged() -> None:
    """
    An HttpError is what the caller gets, whatever the mode.
    """
    error = HttpError(409, "conflict")
    assert as_http_error(_failure(error), "s", development=False, production=True) is error


def test_remote_traceback_is_dropped_outside_development() -> None:
    """
    A traceback that came from further away is not passed on outside
    development.
    """
    error = HttpError(500, "deep", traceback="Traceback ...")
    passed = as_http_error(_failure(error), "s", development=False, production=False)
    assert (passed.status, passed.message, passed.traceback) == (500, "deep", None)


@pytest.mark.parametrize("development, production, message, traced", [
    (False, False, "service 's' failed: KeyError: 'x'", False),
    (True, False, "service 's' failed: KeyError: 'x'", True),
    (False, True, "internal error in service 's'", False),
])
def test_other_exceptions_are_500s(development: bool, production: bool, message: str, traced: bool) -> None:
    """
    Other exceptions are 500s: type and text (nothing in production), the
    traceback only in development.
    """
    error = as_http_error(_failure(KeyError("x")), "s", development=development, production=production)
    assert (error.status, error.message) == (500, message)
    assert (error.traceback is not None) is traced
    if traced:
        assert "KeyError" in error.traceback  # type: ignore[operator]
