"""The package's structure: no import cycles (in-function imports count too)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool() -> object:
    spec = importlib.util.spec_from_file_location(
        "import_graph", ROOT / "tools" / "import_graph.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycles() -> None:
    tool: object = _tool()
    graph = tool.graph(ROOT / "cekura_analytics")  # type: ignore[attr-defined]
    assert "cekura_analytics.warehouse.connection" in graph and graph["cekura_analytics.lake.sync"]
    assert tool.cycles(graph) == []  # type: ignore[attr-defined]


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    """Guards the test above: a cycle through an in-function import is reported."""
    pkg = tmp_path / "cekura_analytics"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import f\n")
    (pkg / "b.py").write_text("def f():\n    from .a import g\n")
    (pkg / "c.py").write_text("from . import a\n")
    tool: object = _tool()
    graph = tool.graph(pkg)  # type: ignore[attr-defined]
    assert tool.cycles(graph) == [["cekura_analytics.a", "cekura_analytics.b"]]  # type: ignore[attr-defined]
