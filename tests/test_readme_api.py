"""
The README's API table and the public API agree: every signature written
there is the function's own (names, order, defaults, keyword-only
arguments), and every name micro exports is in the table.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import micro

README = Path(__file__).resolve().parent.parent / "README.rst"
# Parameters that tests inject; users never pass them.
INJECTED = frozenset({"http", "listen", "node_id"})


def _api_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("\nAPI\n===\n"):text.index("\nDevelopment\n===")]


def _first_column_entries() -> list[str]:
    """
    The ``...`` spans of the table's first column.
    """
    lines = _api_section().splitlines()
    border = next(line for line in lines if line.startswith("====") and "  =" in line)
    width = len(border.split("  ")[0])
    start = lines.index(border)
    end = lines.index(border, start + 2 + 1)
    cells = [line[:width].strip() for line in lines[start + 3:end]]
    return [span for cell in cells for span in re.findall(r"``([^`]+)``", cell)]


def render(fn: Any) -> str:
    """
    A signature as the README writes it: names and defaults, no annotations.
    """
    parts: list[str] = []
    keyword_only = False
    for p in inspect.signature(fn).parameters.values():
        if p.name in INJECTED or p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and not keyword_only:
            parts.append("*")
            keyword_only = True
        parts.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return f"{fn.__name__}({', '.join(parts)})"


def _resolve(name: str) -> Any:
    target: Any = micro
    for part in name.split("."):
        target = getattr(target, part)
    return target


def test_every_signature_in_the_table_is_the_real_one() -> None:
    """
    Each name(args) in the table renders exactly as the function's signature.
    """
    signatures = [span for span in _first_column_entries() if "(" in span]
    assert len(signatures) >= 15
    for written in signatures:
        name = written.split("(", 1)[0]
        real = render(_resolve(name))
        assert written == real.replace(real.split("(", 1)[0], name, 1), written


def test_every_exported_name_is_in_the_table() -> None:
    """
    Nothing micro exports goes undocumented.
    """
    section = _api_section()
    missing = [name for name in micro.__all__ if f"``{name}" not in section and f"``{name}(" not in section]
    assert missing == []


def test_no_merge_leftovers_and_every_title_is_underlined_whole() -> None:
    """
    No conflict marker is left in the README, and every section underline
    is at least as long as its title: a stray ``=======`` under a paragraph
    turns it into a title (docutils warns, and the section map breaks).
    """
    lines = README.read_text(encoding="utf-8").splitlines()
    assert [n for n, line in enumerate(lines, 1) if line.startswith(("<<<<<<< ", ">>>>>>> "))] == []
    short = [n for n, (above, line) in enumerate(zip(lines, lines[1:]), 2)
             if len(line) >= 3 and len(set(line)) == 1 and line[0] in "=-~^" and above.strip()
             and set(above) != set(line) and len(line) < len(above)]
    assert short == []
