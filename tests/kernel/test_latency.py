"""
The latency histogram nodes and the registry share: buckets and percentiles.
"""

from __future__ import annotations

import pytest

from micro._kernel.latency import BOUNDS, BUCKETS, added, bucket_of, quantile, subtracted, trimmed


def test_a_call_lands_in_the_bucket_whose_bound_it_does_not_exceed() -> None:
    """
    Buckets count calls up to and including their bound; slower than every bound is the last bucket.
    """
    assert bucket_of(0.0) == 0
    assert bucket_of(BOUNDS[0]) == 0
    assert bucket_of(BOUNDS[0] * 1.01) == 1
    assert bucket_of(0.001) == BOUNDS.index(0.001)
    assert bucket_of(BOUNDS[-1] + 1) == BUCKETS - 1


def test_bounds_grow_by_at_most_two() -> None:
    """
    Neighbouring bounds are within a factor of two, which bounds a percentile's error.
    """
    assert all(b / a <= 2.0 for a, b in zip(BOUNDS, BOUNDS[1:]))
    assert list(BOUNDS) == sorted(set(BOUNDS))


def test_quantile_interpolates_inside_its_bucket() -> None:
    """
    Half the calls in the bucket (1 ms, 1.5 ms] put the median in the middle of it.
    """
    counts = [0] * BUCKETS
    counts[bucket_of(0.0012)] = 10
    assert quantile(counts, 0.5) == pytest.approx(0.00125)
    assert quantile(counts, 1.0) == pytest.approx(0.0015)


def test_quantile_over_several_buckets() -> None:
    """
    With 90 fast calls and 10 slow ones, p50 is fast and p99 is slow.
    """
    counts = [0] * BUCKETS
    counts[bucket_of(0.0009)] = 90
    counts[bucket_of(0.4)] = 10
    p50, p99 = quantile(counts, 0.5), quantile(counts, 0.99)
    assert p50 is not None and 0.00075 < p50 <= 0.001
    assert p99 is not None and 0.3 < p99 <= 0.5


def test_quantile_of_nothing_is_none_and_of_the_slowest_bucket_the_top_bound() -> None:
    """
    No calls, no percentile; calls slower than every bound report the largest bound.
    """
    assert quantile([], 0.5) is None
    assert quantile([0, 0], 0.99) is None
    assert quantile([0] * (BUCKETS - 1) + [3], 0.5) == BOUNDS[-1]


def test_counts_add_subtract_and_trim() -> None:
    """
    Lists of counts of different lengths add and subtract bucket by bucket; trailing zeros go.
    """
    assert added([1, 2], [3, 4, 5]) == [4, 6, 5]
    assert subtracted([5, 6, 7], [1, 6]) == [4, 0, 7]
    assert subtracted([1], [3]) == [0]
    assert trimmed([1, 0, 2, 0, 0]) == [1, 0, 2]
    assert trimmed([0, 0]) == []
