"""
The import graph of micro, read from its source with C{ast}: what the
layer test checks.
"""

from __future__ import annotations

import ast
from pathlib import Path

from attrs import frozen

MICRO = Path(__file__).resolve().parent.parent / "micro"


@frozen
class Import:
    """
    One module of micro importing another (or a name of another).

    @ivar typing_only: Whether the import sits under C{if TYPE_CHECKING:}.
    """

    importer: str
    imported: str
    line: int
    typing_only: bool


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _guarded(tree: ast.AST) -> set[int]:
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else None
            if name == "TYPE_CHECKING":
                guarded.update(id(n) for child in node.body for n in ast.walk(child))
    return guarded


def imports_of(path: Path, root: Path = MICRO) -> list[Import]:
    """
    Every import of C{path} that names a module of the package at C{root},
    resolved to the module (C{from micro._kernel import errors} names
    C{micro._kernel.errors}).
    """
    package = root.name
    importer = module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = _guarded(tree)
    modules = {module_name(p, root) for p in root.rglob("*.py")}
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = importer.split(".")
                if not path.name == "__init__.py":
                    parent = parent[:-1]
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for target in targets:
            if target == package or target.startswith(package + "."):
                found.append(Import(importer, target, node.lineno, id(node) in guarded))
    return found


def graph(root: Path = MICRO) -> list[Import]:
    """
    Every import between modules of the package at C{root}.
    """
    return [edge for path in sorted(root.rglob("*.py")) for edge in imports_of(path, root)]


def cycles(edges: list[Import]) -> list[list[str]]:
    """
    The strongly connected components of more than one module (Tarjan).
    """
    adjacent: dict[str, set[str]] = {}
    for edge in edges:
        if edge.importer != edge.imported:
            adjacent.setdefault(edge.importer, set()).add(edge.imported)
            adjacent.setdefault(edge.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(adjacent[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(adjacent):
        if node not in index:
            visit(node)
    return found
