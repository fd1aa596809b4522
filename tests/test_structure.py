"""The package's structure: stage folders, a small face, no shadowed module, no import cycle
(in-function and TYPE_CHECKING imports count too)."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path
from types import ModuleType

import cekura_analytics

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cekura_analytics"
STAGES = ("api", "lake", "warehouse", "analysis", "improve", "present", "cli", "mock")


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "import_graph", ROOT / "tools" / "import_graph.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tree_shows_the_stages_and_a_small_face() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(STAGES)
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top


def test_no_module_is_shadowed_by_a_function() -> None:
    """``cekura_analytics.X.Y`` is the module Y wherever a package binds names."""
    for info in pkgutil.walk_packages(cekura_analytics.__path__, "cekura_analytics."):
        if info.name.endswith("__main__"):  # runs the CLI when imported
            continue
        module = importlib.import_module(info.name)
        parent_name, _, leaf = info.name.rpartition(".")
        parent = importlib.import_module(parent_name)
        assert getattr(parent, leaf) is module, info.name
    for name in cekura_analytics.__all__:  # the public surface loads, and is what it says
        value = getattr(cekura_analytics, name)
        assert not isinstance(value, ModuleType) or name == "charts", name


def test_no_import_cycles() -> None:
    tool = _tool()
    graph = tool.graph(PACKAGE)
    assert graph["cekura_analytics.lake.sync"] and "cekura_analytics.warehouse.connection" in graph
    assert tool.cycles(graph) == []


def test_the_cycle_finder_finds_cycles(tmp_path: Path) -> None:
    """Guards the test above: cycles through an in-function and a TYPE_CHECKING import."""
    pkg = tmp_path / "cekura_analytics"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import f\n")
    (pkg / "b.py").write_text("def f():\n    from .a import g\n")
    (pkg / "c.py").write_text("from . import a\n")
    (pkg / "sub" / "d.py").write_text("from ..e import x\n")
    (pkg / "e.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub.d import y\n"
    )
    tool = _tool()
    assert sorted(tool.cycles(tool.graph(pkg))) == [
        ["cekura_analytics.a", "cekura_analytics.b"],
        ["cekura_analytics.e", "cekura_analytics.sub.d"],
    ]
