"""
Reading the blocks of code out of reStructuredText documents, for tests
that run or compare what the docs show.
"""

from __future__ import annotations

import textwrap


def _indented_after(lines: list[str], index: int) -> list[str]:
    """
    The indented block that starts two lines after C{lines[index]}.
    """
    block = []
    for line in lines[index + 2:]:
        if line and not line.startswith("    "):
            break
        block.append(line)
    return block


def literal_blocks(text: str) -> list[list[str]]:
    """
    The literal blocks (after a paragraph ending in "::"), as their non-blank lines.
    """
    lines = text.splitlines()
    return [[line[4:] for line in _indented_after(lines, index) if line.strip()]
            for index, line in enumerate(lines)
            if line.rstrip().endswith("::") and not line.lstrip().startswith("..")]


def code_blocks(text: str) -> list[str]:
    """
    The bodies of the ".. code-block:: python" directives, dedented.
    """
    lines = text.splitlines()
    return [textwrap.dedent("\n".join(_indented_after(lines, index))).strip()
            for index, line in enumerate(lines) if line.strip() == ".. code-block:: python"]
