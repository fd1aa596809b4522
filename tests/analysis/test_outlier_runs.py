"""outlier_runs: the three rules on crafted data, settable thresholds, the score order."""

from __future__ import annotations

from pathlib import Path
from statistics import median
from typing import Any

import pytest
from factories import result, run, write_tables

from cekura_analytics.analysis.outlier_runs import outliers
from cekura_analytics.defaults import OUTLIER_SETTINGS
from cekura_analytics.errors import ConfigError
from cekura_analytics.warehouse.connection import connect

METRICS = [
    {"metric_id": 1, "name": "Empathy", "eval_type": "binary"},
    {"metric_id": 2, "name": "Accuracy", "eval_type": "numeric"},
    {"metric_id": 3, "name": "Refund Policy", "eval_type": "binary"},
]
SCENARIOS = [
    {"scenario_id": 1, "name": "Refund request"},
    {"scenario_id": 2, "name": "Change address"},
]
ACCURACY = [7.0, 8.0, 7.0, 6.0, 7.0, 8.0, 7.0, 7.0, 6.0, 8.0, 7.0, 0.0]  # run 12 is very low
DURATIONS = [100, 110, 95, 105, 100, 98, 102, 101, 99, 100, 104, 900]  # run 12 is very long
DURATIONS_2 = [90, 120, 95, 115, 105, 98, 110, 92]


def build(d: Path) -> Path:
    """Scenario 1: 12 runs, Empathy passes 11 (92 %), run 3 fails it; Refund Policy passes
    9 of 12 (75 %, not surprising). Scenario 2: 8 runs, run 20 fails Empathy (n < 10).
    Run 12 has a very low Accuracy (which also fails it: 11 of 12 pass) and a very long
    duration."""
    runs, rows = [], []
    for i in range(1, 13):
        runs.append(run(i, scenario_id=1, duration_s=DURATIONS[i - 1]))
        rows.append(result(i, 1, score=0.0 if i == 3 else 1.0))
        rows.append(result(i, 2, score=ACCURACY[i - 1], rubric_conditions="score gte 5"))
        rows.append(result(i, 3, score=0.0 if i in (1, 2, 4) else 1.0))
    for i in range(13, 21):
        runs.append(run(i, scenario_id=2, duration_s=DURATIONS_2[i - 13]))
        rows.append(result(i, 1, score=0.0 if i == 20 else 1.0))
    runs.append(run(30, success=False, status="failed", duration_s=None))  # never connected
    return write_tables(d, runs=runs, run_metrics=rows, metrics=METRICS, scenarios=SCENARIOS)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("outliers"))


def _robust_z(values: list[float], x: float) -> float:
    med = median(values)
    mad = median(abs(v - med) for v in values)
    return 0.6745 * (x - med) / mad


def _by_run(df: Any) -> dict[int, dict[str, Any]]:
    return {r["run_id"]: r for r in df.iter_rows(named=True)}


def test_the_three_rules(data: Path) -> None:
    df = outliers(data, limit=None)
    got = _by_run(df)
    assert set(got) == {3, 12}  # run 20's group is too small; Refund Policy passes only 75 %
    r3 = got[3]
    assert r3["reasons"] == [
        "failed 'Empathy' which passes 92% (n=12) for scenario 'Refund request'"
    ]
    assert r3["failed_metrics"] == ["Empathy"]
    assert r3["outlier_score"] == pytest.approx(11 / 12)
    r12 = got[12]
    z_score = _robust_z(ACCURACY, 0.0)
    z_dur = _robust_z([float(x) for x in DURATIONS + DURATIONS_2], 900.0)
    assert z_score <= -3.5 and z_dur >= 3.5
    want = abs(z_score) / 3.5 + z_dur / 3.5 + 11 / 12
    assert r12["outlier_score"] == pytest.approx(want)
    assert r12["failed_metrics"] == ["Accuracy"]
    assert f"robust z {z_dur:.1f}" in r12["reasons"][0]  # the heavier reason first
    assert r12["reasons"][0].startswith("lasted 900 s, a high outlier")
    assert r12["reasons"][1:] == [
        f"scored 0 on 'Accuracy', a low outlier (robust z {z_score:.1f}; median 7, MAD 0.5)",
        "failed 'Accuracy' which passes 92% (n=12) for scenario 'Refund request'",
    ]
    assert df["run_id"].to_list() == [12, 3]  # ordered by score
    assert df.columns[:4] == ["run_id", "outlier_score", "reasons", "failed_metrics"]


@pytest.mark.parametrize(
    ("kwargs", "want"),
    [
        ({"min_group_pass_rate": 0.95}, {12}),  # 92 % is no longer "usually passes"
        ({"min_group_results": 13}, {12}),
        ({"min_group_pass_rate": 0.7}, {1, 2, 3, 4, 12}),  # Refund Policy (75 %) counts now
        ({"min_group_results": 8}, {3, 12, 20}),  # scenario 2 (8 results) counts now
        ({"score_z": 1000, "duration_z": 1000}, {3, 12}),  # run 12 still fails Accuracy
        ({"score_z": 1000, "duration_z": 1000, "min_group_pass_rate": 1.0}, set()),
        ({"duration_z": 1000}, {3, 12}),
    ],
)
def test_thresholds_are_settable(data: Path, kwargs: dict[str, Any], want: set[int]) -> None:
    assert set(outliers(data, limit=None, **kwargs)["run_id"]) == want


def test_limit(data: Path) -> None:
    assert outliers(data, limit=1)["run_id"].to_list() == [12]
    assert outliers(data, limit=0).is_empty()
    with pytest.raises(ConfigError):
        outliers(data, limit=-1)
    with pytest.raises(ConfigError, match="min_group_pass_rate"):
        outliers(data, min_group_pass_rate=1.5)


def test_view_uses_the_defaults(data: Path) -> None:
    con = connect(data)
    try:
        settings = con.sql("select * from outlier_settings").pl().row(0, named=True)
        view = con.sql("select run_id from outlier_runs").pl()["run_id"].to_list()
    finally:
        con.close()
    assert settings == OUTLIER_SETTINGS
    assert view == [12, 3]


def test_no_outliers_is_an_empty_frame(tmp_path: Path) -> None:
    write_tables(tmp_path, runs=[run(1), run(2)], run_metrics=[result(1, 1, score=1.0)])
    df = outliers(tmp_path)
    assert df.is_empty() and df.columns[:4] == [
        "run_id",
        "outlier_score",
        "reasons",
        "failed_metrics",
    ]
