"""
Validation of service names and locations.
"""

from __future__ import annotations

import pytest

from micro import HttpError
from micro._kernel.validation import check_location, check_service_name


@pytest.mark.parametrize("name", ["helloService", "cache", "a", "billing-v2", "svc.eu_1", "Anon$1a2b", "x" * 128])
def test_valid_names(name: str) -> None:
    """
    Ordinary names pass unchanged.
    """
    assert check_service_name(name) == name


@pytest.mark.parametrize("name", ["", "has space", "x" * 129, "-lead", "a/b", "all", "*", "ä", None, 42, ["a"]])
def test_invalid_names_are_400_with_reason(name: object) -> None:
    """
    Bad names are a 400 that says what a name may be.
    """
    with pytest.raises(HttpError) as caught:
        check_service_name(name)
    assert caught.value.status == 400
    assert "name" in caught.value.message


@pytest.mark.parametrize("given, canonical", [
    ("http://localhost:10001", "http://localhost:10001"),
    ("http://localhost:10001/", "http://localhost:10001"),
    ("http://svc", "http://svc:80"),
    ("https://svc/i/7/", "https://svc:443/i/7"),
    ("http://[::1]:8080", "http://[::1]:8080"),
])
def test_locations_are_canonical(given: str, canonical: str) -> None:
    """
    Locations get an explicit port and lose a trailing slash.
    """
    assert check_location(given) == canonical


@pytest.mark.parametrize("location", ["", "ftp://x:1", "localhost:1", "http://:1", "http://u:p@h:1",
                                      "http://h:1?q=1", "http://h:1#f", "http://h:99999", "http://h :1", 7])
def test_bad_locations_are_400(location: object) -> None:
    """
    Anything but a plain http(s) URL with a host is refused.
    """
    with pytest.raises(HttpError) as caught:
        check_location(location)
    assert caught.value.status == 400
