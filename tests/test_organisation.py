"""
How the tests are kept: every test-case-name tag in micro names a test
module that exists, integration and end-to-end modules carry their
markers, test modules never import each other (helpers live in
tests/_*.py), and no module of micro grows past 300 lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TAG = re.compile(r"# -\*- test-case-name: ([\w.]+) -\*-")


def _tags() -> dict[str, str]:
    found = {}
    for path in sorted((ROOT / "micro").rglob("*.py")):
        match = TAG.search(path.read_text(encoding="utf-8").split("\n", 1)[0])
        if match:
            found[str(path.relative_to(ROOT))] = match.group(1)
    return found


def test_every_tag_names_a_test_module_that_exists() -> None:
    """
    Each micro module's test-case-name points at a tests/ file that is there.
    """
    tags = _tags()
    assert len(tags) > 60
    missing = {module: tag for module, tag in tags.items() if not (ROOT / (tag.replace(".", "/") + ".py")).is_file()}
    assert missing == {}


def test_every_module_of_micro_carries_a_tag() -> None:
    """
    No micro module (but package docstrings and the public facades) goes without a test-case-name.
    """
    untagged = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "micro").rglob("*.py"))
                if p.name != "__init__.py" and p.name != "testing.py" and str(p.relative_to(ROOT)) not in _tags()]
    assert untagged == []


def test_every_module_of_micro_is_under_300_lines() -> None:
    """
    A module that grows past 300 lines has more than one job: split it.
    """
    lines = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in sorted((ROOT / "micro").rglob("*.py"))}
    assert len(lines) > 100
    assert {module: n for module, n in lines.items() if n >= 300} == {}


def _marks(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
            return {n.attr for n in ast.walk(node.value) if isinstance(n, ast.Attribute) and n.attr != "mark"}
    return set()


def test_integration_and_end_to_end_modules_are_marked() -> None:
    """
    Every test module under integration/, e2e/ and netns/ carries its marker, so -m selects them exactly.
    """
    for folder, mark in (("integration", "integration"), ("e2e", "e2e"), ("netns", "netns")):
        unmarked = [p.name for p in sorted((TESTS / folder).glob("test_*.py")) if mark not in _marks(p)]
        assert unmarked == [], folder


def test_test_modules_do_not_import_each_other() -> None:
    """
    Shared helpers live in tests/_*.py, never in a test module another one imports.
    """
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and re.search(r"(^|\.)test_\w+$", node.module):
                offenders.append(f"{path.relative_to(ROOT)} imports {node.module}")
    assert offenders == []
