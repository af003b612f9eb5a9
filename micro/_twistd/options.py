# -*- test-case-name: tests.twistd.test_taps -*-
"""
Command-line values shared by the two twistd plugins: seconds and byte counts.
"""

from __future__ import annotations

from micro._http.limits import MIB


def positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"{value!r} is not a positive number")
    return number


positive_float.coerceDoc = "A positive number of seconds."  # type: ignore[attr-defined]


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"{value!r} is not a positive whole number")
    return number


positive_int.coerceDoc = "A whole number, 1 or more."  # type: ignore[attr-defined]


def byte_count(value: str) -> int:
    """
    Parse a byte count for a command-line option: a positive integer,
    optionally with a K, M or G suffix (powers of 1024).
    """
    text = value.strip().upper()
    scale = {"K": 1024, "M": MIB, "G": 1024 * MIB}.get(text[-1:], 1)
    number = int(text[:-1] if scale > 1 else text)
    if number <= 0:
        raise ValueError(f"{value!r} is not a positive byte count")
    return number * scale


byte_count.coerceDoc = "Bytes; a K, M or G suffix multiplies by 1024, 1024**2, 1024**3."  # type: ignore[attr-defined]
