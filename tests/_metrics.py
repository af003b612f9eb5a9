"""
Reading a Prometheus text page in tests: samples by name and labels.
"""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def samples(page: bytes | str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """
    Every sample of a page, keyed by its name and its sorted labels.
    """
    text = page.decode("utf-8") if isinstance(page, bytes) else page
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(page_samples: dict[Any, float], name: str, **labels: str) -> float | None:
    """
    The value of the sample C{name} with exactly C{labels}, or C{None}.
    """
    return page_samples.get((name, tuple(sorted(labels.items()))))


def families(page: bytes | str) -> dict[str, tuple[str, set[str]]]:
    """
    Each family's type and the label names its samples use (C{le} left out).
    """
    text = page.decode("utf-8") if isinstance(page, bytes) else page
    found: dict[str, tuple[str, set[str]]] = {}
    for family in text_string_to_metric_families(text):
        names = {label for sample in family.samples for label in sample.labels if label != "le"}
        found[family.name] = (family.type, names)
    return found
