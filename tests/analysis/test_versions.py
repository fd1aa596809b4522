"""compare_versions: two agent versions, scenario by scenario, with one verdict per cell."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from factories import T0, result, run, write_tables

from cekura_analytics.analysis.stats import wilson_interval
from cekura_analytics.analysis.versions import compare_versions
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
    assert df["metric_name"].to_list() == ["Greeting", "Coin"]  # the worse cell first
    g = df.row(0, named=True)
    assert (g["agent_id"], g["baseline"], g["candidate"]) == (1, "a1", "a2")
    assert (g["n_baseline"], g["n_passed_baseline"], g["n_candidate"]) == (100, 90, 100)
    assert g["n_passed_candidate"] == 60 and g["n_scenarios_both"] == 1
    # one scenario: the scenario-matched change is the plain difference, the interval Wilson's
    assert g["change"] == pytest.approx(-0.3) and g["naive_change"] == pytest.approx(-0.3)
    assert (g["ci_low_candidate"], g["ci_high_candidate"]) == pytest.approx(
        wilson_interval(60, 100)
    )
    assert g["verdict"] == "worse" and g["fails_gate"] and g["test"] == "CMH"
    coin = df.row(1, named=True)
    assert coin["change"] == 0 and coin["verdict"] == "no difference"
    one = compare_versions(d, metric="Greeting", candidate="a2")
    assert one.height == 1 and one["baseline"][0] == "a1"
    assert compare_versions(d, metric="1").height == 1
    assert compare_versions(d, metric="Greeting", a="a1", b="a2").equals(one)  # old names
    other = compare_versions(d, agent_id=2, min_n=1)
    assert set(other["baseline"]) | set(other["candidate"]) == {"b0", "b1"}
    with pytest.raises(DataError, match="no agent has two versions"):
        compare_versions(d, baseline="a1", candidate="zz")
    assert isinstance(df, pl.DataFrame)


def test_versions_by_label_or_id(tmp_path: Path) -> None:
    """The README's --baseline 4519: an agent-version id works wherever a label does."""
    runs, rows = [], []
    for rid in range(1, 81):
        version, vid = ("v3", 4519) if rid <= 40 else ("v4", 4588)
        runs.append(run(rid, agent_version=version, agent_version_id=vid))
        rows.append(result(rid, 1, score=float(rid % 5 != 0)))
    metrics = [{"metric_id": 1, "name": "Greeting", "eval_type": "binary"}]
    d = write_tables(tmp_path, runs=runs, run_metrics=rows, metrics=metrics)
    by_label = compare_versions(d, baseline="v3", candidate="v4")
    by_id = compare_versions(d, baseline="4519", candidate=4588)
    assert by_id.equals(by_label) and by_id["baseline"][0] == "v3"
    assert compare_versions(d).equals(by_label)  # previous -> latest
    with pytest.raises(DataError, match=r"version '9999'.*v3 \(4519\), v4 \(4588\)"):
        compare_versions(d, agent_id=1, baseline="9999")
