# -*- test-case-name: tests.kernel.test_latency -*-
"""
Call latencies as a small fixed histogram, shared by the nodes that count
calls and the registry that adds their counts up.

The bucket bounds are part of the wire format: a node reports a list of
counts, one per bucket, and the registry sums the lists of every node.
Bucket C{i} counts the calls that took at most C{BOUNDS[i]} seconds and
more than C{BOUNDS[i - 1]} (Prometheus' C{le} buckets, not cumulated); the
last one counts the calls slower than every bound.  Bounds grow by at
most 2x (mostly 1.5x), so an estimated percentile is within that factor,
and usually much closer: it is interpolated inside its bucket, as
Prometheus' C{histogram_quantile} does.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Sequence

# Upper bounds in seconds, from 50 microseconds (a handler that answers at
# once) to a minute.
BOUNDS: tuple[float, ...] = (
    0.00005, 0.0001, 0.00015, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
    0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
    1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0,
)

# Buckets in a report: one per bound, and one for slower calls.
BUCKETS = len(BOUNDS) + 1


def bucket_of(seconds: float) -> int:
    """
    The index of the bucket that counts a call of C{seconds}.
    """
    return bisect_left(BOUNDS, seconds)


def quantile(counts: Sequence[int], fraction: float) -> float | None:
    """
    The latency below which C{fraction} of the counted calls fall,
    interpolated inside its bucket; C{None} when nothing was counted.
    A quantile in the last bucket (slower than every bound) is given as
    the largest bound.
    """
    total = sum(counts)
    if total <= 0:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(counts):
        if count > 0 and seen + count >= rank:
            if index >= len(BOUNDS):
                return BOUNDS[-1]
            lower = BOUNDS[index - 1] if index else 0.0
            return lower + (BOUNDS[index] - lower) * max(rank - seen, 0) / count
        seen += count
    return BOUNDS[-1]


def added(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """
    The bucket-wise sum of two lists of counts (trailing zeros may be left out).
    """
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    total = list(longer)
    for index, count in enumerate(shorter):
        total[index] += count
    return total


def subtracted(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """
    The bucket-wise C{a - b}, for counts C{a} taken after C{b} (never below zero).
    """
    return [max(count - (b[index] if index < len(b) else 0), 0) for index, count in enumerate(a)]


def trimmed(counts: Sequence[int]) -> list[int]:
    """
    C{counts} without its trailing zeros: the short form a report carries.
    """
    end = len(counts)
    while end and not counts[end - 1]:
        end -= 1
    return list(counts[:end])
