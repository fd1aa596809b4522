"""Print the package's internal import graph and its cycles (module-level and in-function
imports alike): ``python tools/import_graph.py [--dot]``.

A cycle hidden inside a function (``from .connection import connect`` in a module that
``connection`` imports) is still a cycle, and so is one through ``if TYPE_CHECKING:`` (a type
checker follows it, and it says the two modules know each other): this counts every ``import``
statement, wherever it stands.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "cekura_analytics"


def module_name(path: Path, root: Path) -> str:
    """``cekura_analytics/mock/server.py`` -> ``cekura_analytics.mock.server``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The package modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from . import catalog` imports the submodule, not the package's __init__
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def graph(root: Path) -> dict[str, set[str]]:
    """``{module: {imported package modules}}`` for every module under ``root``."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(files)
    return {n: imports_of(p, n, known) for n, p in files.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1] / PACKAGE
    g = graph(root)
    short = lambda m: m.removeprefix(PACKAGE + ".")  # noqa: E731
    if "--dot" in argv:
        print("digraph imports {")
        for a, bs in sorted(g.items()):
            for b in sorted(bs):
                print(f'  "{short(a)}" -> "{short(b)}";')
        print("}")
        return 0
    for a, bs in sorted(g.items()):
        print(f"{short(a):<28} -> {', '.join(sorted(map(short, bs))) or '-'}")
    found = cycles(g)
    for c in found:
        print("CYCLE:", " <-> ".join(map(short, c)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
