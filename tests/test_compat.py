"""Renamed functions keep their old names for one release, with a warning naming the new one."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cekura_analytics
from cekura_analytics.errors import CekuraError

ALIASES = [
    ("improve", "launch_improve_prompt", "improve_launch", ([1], "")),
    ("improve", "collect", "improve_collect", ()),
    ("improve", "show", "improve_show", ()),
    ("report", "build_report", "report", ()),
    ("outliers", "outlier_runs", "outliers", ()),
    ("views", "export_duckdb", "duckdb", ("x.duckdb",)),
]


@pytest.mark.parametrize(("module", "old", "new", "args"), ALIASES)
def test_old_name_warns_and_behaves_as_the_new_one(
    module: str, old: str, new: str, args: tuple[object, ...], tmp_path: Path
) -> None:
    alias = getattr(importlib.import_module(f"cekura_analytics.{module}"), old)
    target = getattr(cekura_analytics, new)
    assert alias.__wrapped__ is target
    empty = tmp_path / "empty"  # no data: both fail alike, or both answer "nothing"
    want, got = _outcome(target, empty, *args), None
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated .* use {new}"):
        got = _outcome(alias, empty, *args)
    assert got == want


def _outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """What a call did, comparably: its error (class and line) or its result as text."""
    try:
        return ("returned", str(fn(*args)))
    except CekuraError as exc:
        return (type(exc).__name__, str(exc))
