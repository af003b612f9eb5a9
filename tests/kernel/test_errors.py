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
