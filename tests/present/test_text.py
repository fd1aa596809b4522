"""Tables for people (``--format table``): pass rates worst first in percent with runs
(scenarios); improve impact and compare-versions in the columns that fit. csv and json keep
the raw numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
from click.testing import CliRunner
from factories import result, run, write_tables

from cekura_analytics.cli import cli
from cekura_analytics.present.text import (
    comparison_for_people,
    impact_for_people,
    rates_for_people,
)


def test_rates_for_people_are_worst_first_in_percent() -> None:
    df = pl.DataFrame(
        {
            "metric_id": [1, 2, 3],
            "metric_name": ["Good", "Bad", "Unrated"],
            "scenario_language": ["en", "en", "fr"],
            "n_evaluated": [Decimal(1614), Decimal(20), Decimal(0)],
            "n_passed": [1500, 5, 0],
            "n_unknown": [0, 3, 9],
            "n_scenarios": [12, 2, 0],
            "pass_rate": [0.929, 0.25, None],
            "ci_low": [0.9, 0.1, None],
            "ci_high": [0.95, 0.5, None],
            "design_effect": [1.2, 1.0, None],
        }
    )
    got = rates_for_people(df)
    assert got.columns == [
        "metric_name", "scenario_language", "pass rate", "95 % interval", "runs (scenarios)",
        "unknown",
    ]  # fmt: skip
    assert got.rows() == [
        ("Bad", "en", "25.0 %", "10.0 – 50.0 %", "20 (2)", "3"),
        ("Good", "en", "92.9 %", "90.0 – 95.0 %", "1,614 (12)", "0"),
        ("Unrated", "fr", "–", "–", "0 (0)", "9"),
    ]


def test_rates_without_a_metric_count_results_and_keep_ids_without_names() -> None:
    df = pl.DataFrame(
        {"agent_id": [7], "agent_version": ["v2"], "n_evaluated": [50], "n_passed": [40],
         "n_unknown": [0], "n_scenarios": [5], "pass_rate": [0.8], "ci_low": [0.6],
         "ci_high": [0.9], "design_effect": [1.0]}
    )  # fmt: skip
    got = rates_for_people(df)
    assert got.columns[:2] == ["agent_id", "agent_version"] and "results (scenarios)" in got.columns


def test_impact_for_people_fits_a_terminal() -> None:
    row = {
        "job_id": "prompt:11:abc", "run_id": 11, "metric_id": 3, "metric_name": "Booked",
        "before_version": "v3", "after_version": "v4", "n_before": Decimal(275),
        "n_scenarios_before": 50, "pass_rate_before": 0.527, "n_after": Decimal(175),
        "n_scenarios_after": 49, "pass_rate_after": 0.977, "change": 0.413,
        "ci_low_change": 0.348, "ci_high_change": 0.477, "verdict": "improved",
    }  # fmt: skip
    waiting = row | {"after_version": None, "change": None, "ci_low_change": None,
                     "ci_high_change": None, "verdict": "not yet shipped"}  # fmt: skip
    got = impact_for_people(pl.DataFrame([row, waiting]))
    assert got.columns == ["run", "metric", "before", "after", "change", "verdict"]
    assert got.row(0) == (
        11, "Booked", "v3: 52.7 % n=275 (50)", "v4: 97.7 % n=175 (49)",
        "+41.3 pts [+34.8, +47.7]", "improved",
    )  # fmt: skip
    assert got.row(1)[3:] == ("not shipped yet", "–", "not yet shipped")
    assert max(len(line) for line in str(got).splitlines()) < 120


def test_pass_rates_cli_table_for_people_csv_and_json_raw(tmp_path: Path) -> None:
    runs = [run(i, scenario_id=i % 3) for i in range(1, 13)]
    rows = [result(i, 1, metric_name="A", metric_type="binary", score=1.0) for i in range(1, 13)]
    rows += [
        result(i, 2, metric_name="B", metric_type="binary", score=float(i % 2))
        for i in range(1, 13)
    ]
    d = str(write_tables(tmp_path / "d", runs=runs, run_metrics=rows))
    table = CliRunner().invoke(cli, ["pass-rates", "--data-dir", d, "--by", "metric"]).output
    lines = [ln for ln in table.splitlines() if "│" in ln]
    assert "B" in lines[1] and "50.0 %" in lines[1] and "12 (3)" in lines[1]  # worst first
    assert "A" in lines[2] and "100.0 %" in lines[2]
    csv = CliRunner().invoke(cli, ["pass-rates", "--data-dir", d, "--by", "metric", "--format",
                                   "csv"]).output  # fmt: skip
    raw = pl.read_csv(csv.strip().encode()).sort("metric_id")
    assert raw["pass_rate"].to_list() == [1.0, 0.5] and "ci_low" in raw.columns
    js = CliRunner().invoke(cli, ["pass-rates", "--data-dir", d, "--by", "metric", "--format",
                                  "json"]).output  # fmt: skip
    assert sorted(r["pass_rate"] for r in json.loads(js)) == [0.5, 1.0]


def test_compare_versions_for_people_fits_a_terminal_worst_first(tmp_path: Path) -> None:
    """``compare-versions`` printed its 45 raw columns cut to three characters each; the table
    now has the cell, both sides, the change and the verdict, the regression first."""
    from gate_data import REGRESSION, write_versions

    from cekura_analytics.analysis.versions import compare_versions

    d = write_versions(tmp_path / "d", REGRESSION)
    got = comparison_for_people(compare_versions(d, agent_id=1))
    assert got.columns == ["metric", "baseline", "candidate", "change", "Holm p (worse)", "verdict"]
    assert got.row(0)[:3] == ("Empathy", "v1: 95.0 % n=100 (1)", "v2: 70.0 % n=100 (1)")
    assert got.row(0)[3].startswith("-25.0 pts [") and got.row(0)[5] == "worse · fails the gate"
    res = CliRunner().invoke(cli, ["compare-versions", "--data-dir", str(d), "--agent-id", "1"])
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.output.splitlines()) < 140
    lines = [ln for ln in res.output.splitlines() if "│" in ln]
    assert "Empathy" in lines[1] and "fails the gate" in lines[1]
    js = CliRunner().invoke(
        cli, ["compare-versions", "--data-dir", str(d), "--agent-id", "1", "--format", "json"]
    )
    raw = json.loads(js.output)
    assert {"p_worse", "ci_low_change", "scenarios_baseline_only"} <= set(raw[0])
