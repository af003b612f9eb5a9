"""
HttpError: the error that crosses services.
"""

from __future__ import annotations

import pytest

from micro import HttpError


def test_carries_status_and_message() -> None:
    """
    status and message are kept as given, and shown by str().
    """
    error = HttpError(403, "Forbidden: insufficient permissions")
    assert (error.status, error.message, error.traceback) == (403, "Forbidden: insufficient permissions", None)
    assert str(error) == "403: Forbidden: insufficient permissions"


@pytest.mark.parametrize("status", [200, 399, 600, "404", True, 404.0])
def test_rejects_statuses_that_are_not_errors(status: object) -> None:
    """
    Only integer statuses from 400 to 599 make an HttpError.
    """
    with pytest.raises(ValueError, match="400 to 599"):
        HttpError(status, "x")  # type: ignore[arg-type]


def test_refusals_are_python_errors_with_a_status() -> None:
    """
    InvalidArgument, WrongType and UnknownService are what Python code expects, and carry their wire status.
    """
    from micro._kernel.errors import InvalidArgument, UnknownService, WrongType

    invalid, wrong, unknown = InvalidArgument("bad name"), WrongType("must be a string"), UnknownService("billing")
    assert isinstance(invalid, ValueError) and (invalid.status, str(invalid)) == (400, "bad name")
    assert isinstance(wrong, TypeError) and (wrong.status, str(wrong)) == (400, "must be a string")
    assert isinstance(unknown, LookupError) and unknown.status == 404
    assert unknown.message == "no service named 'billing' is registered"
    assert all(isinstance(e, HttpError) for e in (invalid, wrong, unknown))
    assert repr(invalid) == "InvalidArgument('bad name')" and repr(unknown) == "UnknownService('billing')"


def test_the_python_api_raises_refusals_without_translating_them() -> None:
    """
    A bad channel, route path or service name raises the validator's own exception through the public API.
    """
    import micro
    from micro._kernel.errors import InvalidArgument, WrongType

    with pytest.raises(WrongType):
        micro.subscribe(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        micro.route("no-slash")
    with pytest.raises(InvalidArgument):
        micro.service(name="all")(lambda p: p)


def test_the_message_defaults_to_the_reason_phrase() -> None:
    """
    HttpError(404) is a 404 "Not Found", not a TypeError; unusual statuses
    get a generic phrase.
    """
    from micro import HttpError

    assert (HttpError(404).message, HttpError(503).message) == ("Not Found", "Service Unavailable")
    assert (HttpError(499).message, HttpError(599).message) == ("Client Error", "Server Error")
    assert str(HttpError(409)) == "409: Conflict"
