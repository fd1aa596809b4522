"""The Python twins: compare_versions (pass rates of two agent versions)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from factories import T0, result, run, write_tables

from cekura_analytics.analysis.rates import compare_versions
from cekura_analytics.analysis.stats import two_proportion_test, wilson_interval
from cekura_analytics.errors import DataError

# -- compare_versions ---------------------------------------------------------------------


def _versions_data(d: Path) -> Path:
    runs, rows = [], []
    rid = 0
    # agent 1: version "a1" then "a2" (Greeting drops from 90 % to 60 %); agent 2 is smaller
    for version, n, k, offset in (("a1", 100, 90, 0), ("a2", 100, 60, 1000)):
        for i in range(n):
            rid += 1
            runs.append(
                run(rid, agent_version=version, timestamp=T0.replace(day=1 + offset // 500))
            )
            rows.append(result(rid, 1, score=1.0 if i < k else 0.0))
            rows.append(result(rid, 2, score=1.0 if i % 2 else 0.0))
    for i in range(20):
        rid += 1
        runs.append(run(rid, agent_id=2, agent_version=f"b{i % 2}"))
        rows.append(result(rid, 1, score=1.0))
    metrics = [
        {"metric_id": 1, "name": "Greeting", "eval_type": "binary"},
        {"metric_id": 2, "name": "Coin", "eval_type": "binary"},
    ]
    return write_tables(d, runs=runs, run_metrics=rows, metrics=metrics)


def test_compare_versions(tmp_path: Path) -> None:
    d = _versions_data(tmp_path)
    df = compare_versions(d)
    assert df["metric_name"].to_list() == ["Greeting", "Coin"]  # biggest drop first
    g = df.row(0, named=True)
    assert (g["agent_id"], g["version_a"], g["version_b"]) == (1, "a1", "a2")
    assert (g["n_a"], g["n_passed_a"], g["n_b"], g["n_passed_b"]) == (100, 90, 100, 60)
    assert g["change"] == pytest.approx(-0.3)
    z, p = two_proportion_test(90, 100, 60, 100)
    assert g["z"] == pytest.approx(z) and g["p_value"] == pytest.approx(p)
    assert (g["ci_low_b"], g["ci_high_b"]) == pytest.approx(wilson_interval(60, 100))
    coin = df.row(1, named=True)
    assert coin["change"] == 0 and coin["p_value"] == pytest.approx(1.0)
    one = compare_versions(d, metric="Greeting", b="a2")
    assert one.height == 1 and one["version_a"][0] == "a1"
    assert compare_versions(d, metric="1").height == 1
    other = compare_versions(d, agent_id=2)
    assert set(other["version_a"]) | set(other["version_b"]) == {"b0", "b1"}
    with pytest.raises(DataError, match="no two agent versions"):
        compare_versions(d, a="a1", b="zz")
    assert isinstance(df, pl.DataFrame)
