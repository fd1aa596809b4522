"""The views against an independent computation in polars on the same Delta tables."""

from __future__ import annotations

import json
import math
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from deltalake import DeltaTable
from factories import T0, frame, read, result, run, write_part, write_tables
from polars.testing import assert_frame_equal
from scipy.stats import t as scipy_t

from cekura_analytics.analysis.rates import pass_rates
from cekura_analytics.cli import cli
from cekura_analytics.errors import ConfigError, DataError, StoreError
from cekura_analytics.lake.store import Store
from cekura_analytics.lake.tables import SCHEMAS
from cekura_analytics.warehouse.connection import (
    connect,
    query,
    sql_dir,
    sql_files,
    view_names,
)
from cekura_analytics.warehouse.connection import (
    duckdb as write_duckdb,
)
from cekura_analytics.warehouse.families import (
    METRIC_RESULTS,
    PASS_RATE_VIEWS,
    RATE_COLUMNS,
    output_columns,
    view_file,
    view_sql,
)

Z = 1.959964
RULES = """
# pass rules for the crafted data
thresholds = { "Empathy" = 4, "3" = 0.7, "Latency" = 2 }

[pass_values]
"Sentiment" = ["positive", "neutral"]
"""
METRICS = [
    {"metric_id": 1, "name": "Greeting", "eval_type": "binary"},
    {"metric_id": 2, "name": "Empathy", "eval_type": "numeric"},
    {"metric_id": 3, "name": "Accuracy", "eval_type": "continuous_qualitative"},
    {"metric_id": 4, "name": "Sentiment", "eval_type": "enum"},
    {"metric_id": 5, "name": "Tone", "eval_type": "enum"},
    {"metric_id": 6, "name": "Politeness", "eval_type": "numeric"},
    {"metric_id": 7, "name": "Mystery", "eval_type": None},  # falls back to metric_type
    {"metric_id": 9, "name": "Odd", "eval_type": "Continuous-Qualitative"},
    # metric 8 ("Latency") exists only in run_metrics
]
TYPES = {1: "binary", 2: "numeric", 3: "continuous_qualitative", 4: "enum", 5: "enum"}
TYPES |= {6: "numeric", 7: "binary", 8: "numeric", 9: "continuous_qualitative"}
CONDITIONS = [None, None, "score gte 5", "score gt 5", "score lte 3", "score lt 3", "score eq 5"]
CONDITIONS += ["score >= 6", "GTE 2", "score between 1 and 5", "score  gte 7"]


def _metric_rows(rng: random.Random, run_id: int) -> list[dict[str, Any]]:
    rows = []
    for mid, kind in TYPES.items():
        if rng.random() < 0.1:
            continue  # not every metric is evaluated on every run
        row: dict[str, Any] = {"metric_type": kind, "metric_name": f"m{mid}"}
        if mid == 8:
            row["metric_name"] = "Latency"
        if kind == "enum":
            row["value"] = rng.choice(["positive", "neutral", "negative", None])
            if row["value"] is None and rng.random() < 0.5:
                row["enum"] = "positive"
        elif kind == "binary":
            era = rng.choice(["plain", "legacy", "canonical"])
            if era == "plain":
                row["score"] = rng.choice([0.0, 1.0, 1.0, None])
            elif era == "legacy":  # before July 2026: a legacy type and 0/5
                row["metric_type"] = rng.choice(["binary_workflow_adherence", "binary_qualitative"])
                row["score"] = rng.choice([0.0, 5.0, 5.0])
            else:  # since: eval_type binary and the item's own passed beside a 0/5 score
                row["eval_type"] = "binary"
                row["metric_passed"] = rng.random() < 0.7
                row["score"] = rng.choice([0.0, 5.0, None])
        else:
            row["score"] = rng.choice([0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, None])
            row["rubric_conditions"] = rng.choice(CONDITIONS)
        if rng.random() < 0.15:
            row["rubric_passed"] = rng.random() < 0.5
        rows.append(result(run_id, mid, **row))
    return rows


def build(d: Path) -> Path:
    """A data dir exercising every rule, fallback and the dedupe (see the asserts below)."""
    rng = random.Random(3)
    runs, rms = [], []
    for rid in range(1, 81):
        kw: dict[str, Any] = {
            "scenario_id": rng.choice([1, 2, 3, 9]),
            "personality_id": rng.choice([1, 2, 3, 9, None]),
            "agent_version": "1" if rid <= 40 else "2",
            "success": rng.random() < 0.8,
            "duration_s": rng.randint(60, 200),
            "timestamp": T0 + timedelta(hours=rid * 3),
        }
        if kw["personality_id"] == 9:
            kw["personality_name"] = "Ghost"
        if kw["scenario_id"] == 9:
            kw["scenario_name"] = "Ad hoc"
        runs.append(run(rid, **kw))
        rms += _metric_rows(rng, rid)
    # around midnight UTC: two different days
    runs[0]["timestamp"] = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    runs[1]["timestamp"] = datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC)
    runs += [
        run(90, success=False, error_message="could not connect", status="failed"),
        run(91, status="running", success=None),
        run(92, status="timeout", success=None),
        run(93, status="cancelled", success=False, scenario_id=3, personality_id=3),
    ]
    for r in runs[4:7]:  # reviewed runs, so that the review views have rows (issue 18)
        r |= {"is_reviewed": True, "evaluation_status": "reviewed_failure"}
        r["critical_categories_json"] = '[{"category_id": 1, "wrongly_marked": true}]'
    write_tables(
        d,
        runs=runs,
        run_metrics=rms,
        metrics=METRICS,
        personalities=[
            {"personality_id": 1, "name": "Calm", "language": "en"},
            {"personality_id": 2, "name": "Angry", "language": "es"},
            {"personality_id": 3, "name": "Elder", "language": "de"},
        ],
        scenarios=[
            {"scenario_id": 1, "name": "Refund", "personality_id": 1, "scenario_language": "en"},
            {"scenario_id": 2, "name": "Booking", "personality_id": 2},  # no language
            {"scenario_id": 3, "name": "Cancel", "personality_id": 3, "scenario_language": "fr"},
        ],
        results=[{"result_id": 1, "agent_version": "r"}],
        agents=[{"agent_id": 1, "agent_name": "Bot"}],
    )
    # runs 10 and 11 fetched again: the store's upsert replaces their rows and metric rows
    newer = [r | {"agent_version": "3"} for r in runs if r["run_id"] in (10, 11)]
    again = [result(10, 1, metric_type="binary", score=0.0), result(11, 1, metric_type="binary")]
    with Store(d, lock=True) as store:
        store.upsert_runs(frame("runs", newer), frame("run_metrics", again))
    (d / "cekura-analytics.toml").write_text(RULES)
    return d


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("crafted"))


@pytest.fixture(scope="module")
def con(data: Path) -> Any:
    c = connect(data)
    yield c
    c.close()


# -- the independent computation ---------------------------------------------------------


def expected_results(d: Path) -> pl.DataFrame:
    """metric_results recomputed in polars straight from the Delta tables."""
    runs, rm = read(d, "runs"), read(d, "run_metrics")
    metrics = read(d, "metrics")
    fallback = rm.group_by("metric_id").agg(
        pl.col("metric_name").max().alias("rm_name"),
        pl.coalesce("eval_type", "metric_type").max().alias("rm_type"),
    )
    legacy = {"binary_workflow_adherence": "binary", "binary_qualitative": "binary"}
    norm = lambda c: (  # noqa: E731
        c.str.strip_chars().str.to_lowercase().str.replace_all("[- ]", "_").replace(legacy)
    )
    cat = fallback.join(metrics, on="metric_id", how="full", coalesce=True).select(
        "metric_id",
        metric_name=pl.coalesce("name", "rm_name"),
        eval_type=pl.coalesce(norm(pl.col("eval_type")), norm(pl.col("rm_type"))),
    )
    thresholds = {"Empathy": 4.0, "3": 0.7, "Latency": 2.0}
    sets = {"Sentiment": ["positive", "neutral"]}
    cat = cat.with_columns(
        threshold=pl.coalesce(
            pl.col("metric_id").cast(pl.String).replace_strict(thresholds, default=None),
            pl.col("metric_name").replace_strict(thresholds, default=None),
        ),
        pass_set=pl.col("metric_name").replace_strict(
            sets, default=None, return_dtype=pl.List(pl.String)
        ),
    )
    df = rm.drop("metric_name", "eval_type").join(cat, on="metric_id", how="left")
    cond = pl.col("rubric_conditions").str.to_lowercase()
    pattern = r"^\s*(?:score\s*)?(gte|gt|lte|lt|eq|>=|>|<=|<|==|=)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$"
    op = cond.str.extract(pattern, 1).replace({">=": "gte", ">": "gt", "<=": "lte", "<": "lt"})
    op = op.replace({"==": "eq", "=": "eq"})
    thr = cond.str.extract(pattern, 2).cast(pl.Float64)
    score = pl.col("score")
    by_cond = (
        pl.when(op == "gte")
        .then(score >= thr)
        .when(op == "gt")
        .then(score > thr)
        .when(op == "lte")
        .then(score <= thr)
        .when(op == "lt")
        .then(score < thr)
        .when(op == "eq")
        .then(score == thr)
        .otherwise(score >= pl.col("threshold"))
    )
    value = pl.coalesce("value", "enum")
    in_set = pl.when(value.is_null() | pl.col("pass_set").is_null()).then(None)
    in_set = in_set.otherwise(
        pl.col("pass_set").list.set_intersection(pl.concat_list(value)).list.len() > 0
    )
    kind = pl.col("eval_type")
    passed = (
        pl.when(pl.col("rubric_passed").is_not_null())
        .then(pl.col("rubric_passed"))
        .when(pl.col("metric_passed").is_not_null())
        .then(pl.col("metric_passed"))
        .when(kind == "binary")
        .then(score >= 1)
        .when(kind.is_in(["numeric", "continuous_qualitative"]))
        .then(by_cond)
        .when(kind == "enum")
        .then(in_set)
        .otherwise(None)
    )
    df = df.with_columns(passed=passed, value=value)
    scen = read(d, "scenarios").rename({"personality_id": "scen_personality"})
    pers = read(d, "personalities")
    run_pers = runs.group_by("personality_id").agg(pl.col("personality_name").max())
    run_scen = runs.group_by("scenario_id").agg(pl.col("scenario_name").max())
    out = df.join(runs, on="run_id", how="inner", suffix="_run")
    out = out.join(scen, on="scenario_id", how="left", suffix="_scen")
    out = out.with_columns(personality_id=pl.coalesce("personality_id", "scen_personality"))
    out = out.join(pers, on="personality_id", how="left", suffix="_pers")
    out = out.join(run_pers, on="personality_id", how="left", suffix="_fallback")
    out = out.join(run_scen, on="scenario_id", how="left", suffix="_fallback")
    return out.select(
        "run_id",
        "metric_id",
        "metric_name",
        "eval_type",
        "passed",
        "score",
        "value",
        "personality_id",
        personality_name=pl.coalesce("name_pers", "personality_name_fallback"),
        scenario_id="scenario_id",
        scenario_language=pl.coalesce("scenario_language", "language"),
        agent_id="agent_id",
        agent_version="agent_version",
        result_id="result_id",
        day=pl.col("timestamp").dt.convert_time_zone("UTC").dt.date(),
        timestamp="timestamp",
        scenario_name=pl.coalesce("name", "scenario_name_fallback"),
    )


def expected_rates(df: pl.DataFrame, keys: list[str], flag: str = "passed") -> pl.DataFrame:
    """Group counts and the scenario-clustered interval, recomputed here from the issue's
    contract (not by the package): V = C/(C-1) Σ(k_i - p n_i)² / N², deff = max(1, V N /
    (p (1-p))) (1 when p is 0 or 1 or C < 2), Wilson at p with N/deff trials and the
    quantile of Student's t with C-1 df (1.96 when C < 2)."""
    by_scenario = df.group_by([*keys, "scenario_id"] if "scenario_id" not in keys else keys).agg(
        n=pl.col(flag).count().cast(pl.Int64),
        k=pl.col(flag).sum().cast(pl.Int64),
        u=pl.col(flag).null_count().cast(pl.Int64),
    )
    g = by_scenario.group_by(keys).agg(
        n_evaluated=pl.col("n").sum(),
        n_passed=pl.col("k").sum(),
        n_unknown=pl.col("u").sum(),
        n_scenarios=(pl.col("n") > 0).sum().cast(pl.Int64),
        per_scenario=pl.struct("k", "n"),
    )
    rows = []
    for r in g.iter_rows(named=True):
        k, n, c = r["n_passed"], r["n_evaluated"], r["n_scenarios"]
        cells = [(s["k"], s["n"]) for s in r.pop("per_scenario") if s["n"] > 0]
        if not n:
            r |= {"pass_rate": None, "ci_low": None, "ci_high": None, "design_effect": None}
            rows.append(r)
            continue
        p = k / n
        deff = 1.0
        if c >= 2 and 0 < p < 1:
            v = c / (c - 1) * sum((ki - p * ni) ** 2 for ki, ni in cells) / n**2
            deff = max(1.0, v * n / (p * (1 - p)))
        z = scipy_t.ppf(0.975, c - 1) if c >= 2 else 1.959964
        m = n / deff
        centre = (p + z * z / (2 * m)) / (1 + z * z / m)
        half = z * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
        low = 0.0 if k == 0 else max(0.0, centre - half)
        high = 1.0 if k == n else min(1.0, centre + half)
        r |= {"pass_rate": p, "ci_low": low, "ci_high": high, "design_effect": deff}
        rows.append(r)
    floats = dict.fromkeys(("pass_rate", "ci_low", "ci_high", "design_effect"), pl.Float64)
    schema = {**g.drop("per_scenario").schema, **floats}
    return pl.DataFrame(rows, schema=schema)


@pytest.fixture(scope="module")
def expected(data: Path) -> pl.DataFrame:
    return expected_results(data)


def _same(got: pl.DataFrame, want: pl.DataFrame, keys: list[str]) -> None:
    cols = [c for c in got.columns if c in want.columns]
    assert set(want.columns) <= set(got.columns), set(want.columns) - set(got.columns)
    got = got.select(cols).sort(keys, nulls_last=True)
    want = want.select(cols).sort(keys, nulls_last=True)
    # the t quantile in SQL is exact to 4e-8 (a table, then an expansion): intervals to 1e-7
    assert_frame_equal(got, want, check_dtypes=False, abs_tol=1e-7)


# -- the tests ----------------------------------------------------------------------------


def test_crafted_data_covers_the_cases(expected: pl.DataFrame) -> None:
    """Guards the fixture: every rule and fallback is actually exercised."""
    assert expected["passed"].null_count() > 0
    assert expected.filter(pl.col("metric_id") == 8)["metric_name"].unique().to_list() == [
        "Latency"
    ]
    assert set(expected.filter(pl.col("metric_id") == 7)["eval_type"]) == {"binary"}
    assert set(expected.filter(pl.col("metric_id") == 9)["eval_type"]) == {"continuous_qualitative"}
    booking = expected.filter(pl.col("scenario_id") == 2, pl.col("personality_id") == 2)
    assert set(booking["scenario_language"]) == {"es"}  # the personality's language
    assert "Ghost" in expected["personality_name"].to_list()
    assert expected.filter(pl.col("run_id") == 10)["agent_version"].unique().to_list() == ["3"]
    assert expected.filter(pl.col("run_id").is_in([90, 91, 92, 93])).is_empty()


def test_metric_results_match(con: Any, expected: pl.DataFrame) -> None:
    got = con.sql("select * from metric_results").pl()
    contract = [
        "run_id", "metric_id", "metric_name", "eval_type", "passed", "score", "value",
        "personality_id", "personality_name", "scenario_id", "scenario_language", "agent_id",
        "agent_version", "result_id", "day", "timestamp",
    ]  # fmt: skip
    assert got.columns[: len(contract)] == contract
    assert got.select("run_id", "metric_id").is_duplicated().sum() == 0
    _same(
        got.with_columns(pl.col("timestamp").dt.convert_time_zone("UTC")),
        expected.with_columns(pl.col("timestamp").dt.convert_time_zone("UTC")),
        ["run_id", "metric_id"],
    )


def test_pass_rule_column_explains_unknowns(con: Any) -> None:
    df = con.sql("select pass_rule, passed from metric_results").pl()
    assert (
        df.filter(pl.col("pass_rule").is_null())["passed"].null_count()
        == df.filter(pl.col("pass_rule").is_null()).height
    )
    assert df.filter(pl.col("pass_rule").is_not_null())["passed"].null_count() == 0


#: key and label columns of each rate view, from the one map (rates.PASS_RATE_VIEWS)
KEYS = {
    name: output_columns(view.by)[: -len(RATE_COLUMNS)] for name, view in PASS_RATE_VIEWS.items()
}
VIEWS = {n: k for n, k in KEYS.items() if PASS_RATE_VIEWS[n].source is METRIC_RESULTS}
RATES = [
    "n_evaluated", "n_passed", "n_unknown", "n_scenarios", "pass_rate", "ci_low", "ci_high",
    "design_effect",
]  # fmt: skip


@pytest.mark.parametrize("view", list(VIEWS))
def test_pass_rate_view_matches(view: str, con: Any, expected: pl.DataFrame) -> None:
    keys = VIEWS[view]
    got = con.sql(f"select * from {view}").pl()
    assert got.columns == [*keys, *RATES]
    _same(got, expected_rates(expected, keys), keys)


@pytest.mark.parametrize("view", [n for n in KEYS if n not in VIEWS])
def test_run_success_views_match(view: str, con: Any, data: Path) -> None:
    keys = KEYS[view]
    runs = expected_runs(data)
    got = con.sql(f"select * from {view}").pl()
    assert got.columns == [*keys, *RATES]
    _same(got, expected_rates(runs, keys, flag="success"), keys)


def expected_runs(d: Path) -> pl.DataFrame:
    runs = read(d, "runs")
    runs = runs.filter(pl.col("status").is_in(["completed", "failed", "timeout", "cancelled"]))
    scen = read(d, "scenarios").rename({"personality_id": "sp", "name": "sn"})
    pers = read(d, "personalities")
    out = runs.join(scen, on="scenario_id", how="left")
    out = out.with_columns(personality_id=pl.coalesce("personality_id", "sp"))
    out = out.join(pers, on="personality_id", how="left", suffix="_p")
    names = runs.group_by("personality_id").agg(pl.col("personality_name").max().alias("fb"))
    out = out.join(names, on="personality_id", how="left")
    return out.select(
        "run_id",
        "scenario_id",
        "success",
        "personality_id",
        personality_name=pl.coalesce("name", "fb"),
        scenario_language=pl.coalesce("scenario_language", "language"),
    )


def test_never_connected_runs_only_in_run_success(con: Any) -> None:
    assert con.sql("select count(*) from metric_results where run_id = 90").fetchall() == [(0,)]
    row = con.sql(
        "select success, is_terminal, error_message from run_details where run_id = 90"
    ).fetchall()
    assert row == [(False, True, "could not connect")]
    # the running run is not counted, the timeout without success is unknown
    total = con.sql(
        "select sum(n_evaluated + n_unknown), sum(n_unknown) from run_success_by_language"
    ).fetchall()
    assert total == [(83, 1)]  # 80 + failed + timeout + cancelled; running excluded


@pytest.mark.parametrize(("by", "view"), [(PASS_RATE_VIEWS[v].by, v) for v in VIEWS])
def test_pass_rates_twin_equals_the_independent_rates(
    by: Any, view: str, data: Path, expected: pl.DataFrame
) -> None:
    """pass_rates() (the scoped query, not the view file) against the polars computation."""
    keys = VIEWS[view]
    got = pass_rates(data, by=",".join(by))  # as a user writes it on the command line
    assert got.columns == [*keys, *RATES]
    _same(got, expected_rates(expected, keys), keys)


def test_pass_rates_scope(data: Path, expected: pl.DataFrame) -> None:
    since = datetime(2026, 3, 5, tzinfo=UTC)
    got = pass_rates(data, by="metric", since="2026-03-05", agent_id=1)
    scoped = expected.filter(pl.col("timestamp") >= since, pl.col("agent_id") == 1)
    _same(got, expected_rates(scoped, ["metric_id", "metric_name"]), ["metric_id"])
    with pytest.raises(ConfigError, match="--agent-id 999: this data dir holds no agent 999"):
        pass_rates(data, by="metric", agent_id=999)
    with pytest.raises(DataError, match="cannot group pass rates by 'colour'"):
        pass_rates(data, by="metric,colour")
    with pytest.raises(ConfigError, match="not an ISO date"):
        pass_rates(data, by="metric", since="last tuesday")


def test_staging_views_have_the_table_types(con: Any) -> None:
    renames = {"name": None}
    for table, view in [
        ("runs", "stg_runs"),
        ("run_metrics", "stg_run_metrics"),
        ("results", "stg_results"),
        ("agents", "stg_agents"),
    ]:
        got = con.sql(f"select * from {view} limit 0").pl().schema
        for col, dtype in SCHEMAS[table].items():
            if col in renames:
                continue
            assert col in got or f"{table[:-1]}_{col}" in got, (view, col)
            if col in got and not isinstance(dtype, pl.Datetime):
                assert got[col] == dtype, (view, col, got[col], dtype)


def test_every_view_file_names_its_view_and_grain() -> None:
    files = sql_files()
    assert {f.parent.name for f in files} == {"setup", "staging", "intermediate", "marts"}
    for f in files:
        text = f.read_text()
        first = text.splitlines()[0]
        if "create or replace view" in text:
            name = f.stem.split("_", 1)[1]
            assert f"create or replace view {name} as" in text, f.name
            assert first.startswith("-- one row per "), f"{f.name}: say its grain first"
        else:
            assert first.startswith("-- "), f"{f.name}: say what it defines first"


def test_staging_views_only_rename_and_cast() -> None:
    """dbt's rule: a staging view reads one table, no joins, unions or aggregates."""
    for f in sql_files():
        if f.parent.name != "staging":
            continue
        lines = f.read_text().lower().splitlines()
        body = "\n".join(ln for ln in lines if not ln.lstrip().startswith("--"))
        assert body.count("{") == 1 and body.count("from ") == 1, f.name
        for word in (" join ", " union ", "group by", "coalesce(", "max(", " with "):
            assert word not in body, (f.name, word)


def test_all_views_answer(con: Any) -> None:
    """Every view runs over the crafted data and has the columns it declares; the views the
    crafted data feeds (all but the failure-mode and improve views) have rows."""
    empty_by_design = {n for n in view_names() if "failure_mode" in n or "improve" in n}
    for v in view_names():
        got = con.sql(f"select * from {v}").pl()
        declared = [r[0] for r in con.sql(f"describe {v}").fetchall()]
        assert got.columns == declared and got.columns, v
        assert got.height > 0 or v in empty_by_design, f"{v} is empty"


def test_a_connection_reads_one_snapshot_and_the_next_sees_new_commits(tmp_path: Path) -> None:
    d = build(tmp_path / "d")
    c = connect(d)
    try:
        before = c.sql("select count(*) from stg_runs").fetchall()[0][0]
        write_part(d, "run_metrics", [result(500, 1, metric_type="binary", score=1.0)])
        write_part(d, "runs", [run(500), run(501)])
        assert c.sql("select count(*) from stg_runs").fetchall()[0][0] == before
    finally:
        c.close()
    got = query(d, "select passed from metric_results where run_id = 500")
    assert got.rows() == [(True,)]
    assert query(d, "select count(*) as n from stg_runs")["n"].item() == before + 2


def test_as_of_a_version_or_a_time_reads_the_data_as_it_stood(tmp_path: Path) -> None:
    write_tables(tmp_path, run_metrics=[result(1, 1, score=1.0)], runs=[run(1)])
    v0 = DeltaTable(str(tmp_path / "runs")).version()
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    with Store(tmp_path, lock=True) as store:  # run 1 fetched again (now failing) and run 2
        store.upsert_runs(
            frame("runs", [run(1, agent_version="9"), run(2)]),
            frame("run_metrics", [result(1, 1, score=0.0), result(2, 1, score=1.0)]),
        )
    sql = "select run_id, agent_version, score from metric_results order by 1"
    now = query(tmp_path, sql).rows()
    assert now == [(1, "9", 0.0), (2, "1", 1.0)]
    for as_of in (v0, str(v0), between, between.isoformat()):
        assert query(tmp_path, sql, as_of=as_of).rows() == [(1, "1", 1.0)], as_of
    versions = query(tmp_path, "select * from table_versions where table_name = 'runs'", as_of=v0)
    assert versions.rows() == [("runs", v0, str(v0))]
    with pytest.raises(DataError, match="no such version"):
        query(tmp_path, sql, as_of=99)
    with pytest.raises(ConfigError, match="neither a version"):
        query(tmp_path, sql, as_of="last monday")
    res = _cli("sql", "--data-dir", tmp_path, sql, "--as-of", str(v0), "--format", "csv")
    assert res.exit_code == 0 and res.output.split() == ["run_id,agent_version,score", "1,1,1.0"]


def test_empty_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds no extracted tables.*extract --data-dir"):
        connect(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        connect(tmp_path / "missing")
    (tmp_path / "runs").mkdir()  # data files without a Delta log: a lost log, said so
    pl.DataFrame({"run_id": [1]}).write_parquet(tmp_path / "runs" / "x.parquet")
    with pytest.raises(StoreError, match=r"runs/_delta_log is missing or empty although 1 data"):
        query(tmp_path, "select 1")


def test_missing_tables_are_empty_relations(tmp_path: Path) -> None:
    write_tables(tmp_path, runs=[run(1), run(2, success=False)])
    c = connect(tmp_path)
    try:
        for v in view_names():
            c.sql(f"select * from {v}").pl()
        assert c.sql("select count(*) from metric_results").fetchall() == [(0,)]
        assert c.sql("select * from pass_rates_by_metric").fetchall() == []
        rows = c.sql("select n_evaluated, n_passed, pass_rate from run_success_by_language")
        assert rows.fetchall() == [(2, 1, 0.5)]
    finally:
        c.close()


def test_zero_evaluated_rows_have_null_rate(tmp_path: Path) -> None:
    write_tables(
        tmp_path,
        runs=[run(1)],
        run_metrics=[result(1, 1, metric_type="numeric", score=3.0)],  # no threshold: unknown
        metrics=[{"metric_id": 1, "name": "Empathy", "eval_type": "numeric"}],
    )
    got = query(tmp_path, "select * from pass_rates_by_metric").row(0, named=True)
    assert got["n_evaluated"] == 0 and got["n_unknown"] == 1
    assert got["pass_rate"] is None and got["ci_low"] is None and got["ci_high"] is None


def test_a_damaged_data_file_is_one_line_naming_table_and_file(tmp_path: Path) -> None:
    write_tables(tmp_path, runs=[run(1)])
    write_tables(tmp_path, runs=[run(2)])
    bad = DeltaTable(str(tmp_path / "runs")).file_uris()[0]
    Path(bad).write_bytes(b"not parquet")
    with pytest.raises(StoreError) as err:
        query(tmp_path, "select * from stg_runs")
    msg = str(err.value)
    assert msg.startswith("runs: data file ") and Path(bad).name in msg and "\n" not in msg
    assert "extract --repair" in msg


def test_query_params_are_never_pasted(data: Path) -> None:
    evil = "x'; drop view metric_results; --"
    assert query(data, "select $v as v", {"v": evil})["v"].to_list() == [evil]
    got = query(data, "select count(*) as n from metric_results where metric_name = ?", [evil])
    assert got["n"].to_list() == [0]
    with pytest.raises(DataError, match="SQL failed"):
        query(data, "select * from no_such_view")


def test_duckdb_file_holds_the_views(data: Path, tmp_path: Path, con: Any) -> None:
    out = write_duckdb(data, tmp_path / "views.duckdb")
    db = duckdb.connect(str(out), read_only=True)
    try:
        got = db.sql("select * from pass_rates_by_metric").pl()
        rules = db.sql("select count(*) from pass_rules").fetchall()
    finally:
        db.close()
    assert_frame_equal(got, con.sql("select * from pass_rates_by_metric").pl())
    assert rules == [(4,)]


# -- CLI ---------------------------------------------------------------------------------


def _cli(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_cli_sql_formats(fmt: str, data: Path) -> None:
    stmt = "select metric_name, n_evaluated from pass_rates_by_metric where n_evaluated >= $n"
    res = _cli("sql", "--data-dir", data, stmt, "--param", "n=1", "--format", fmt)
    assert res.exit_code == 0, res.output
    assert "Greeting" in res.output
    if fmt == "json":
        rows = json.loads(res.output)
        assert {"metric_name", "n_evaluated"} <= set(rows[0])


def test_cli_sql_parquet_and_errors(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    res = _cli("sql", "--data-dir", data, "select * from outlier_runs", "--format", "parquet")
    assert res.exit_code == 2 and "needs --out" in res.output
    res = _cli(
        "sql",
        "--data-dir",
        data,
        "select * from metric_results",
        "--out",
        out,
        "--format",
        "parquet",
    )
    assert res.exit_code == 0, res.output
    assert pl.read_parquet(out).height > 0
    res = _cli("sql", "--data-dir", data, "select $x", "--param", "x")
    assert res.exit_code == 2 and "NAME=VALUE" in res.output
    res = _cli("sql", "--data-dir", data, "select * from nope")
    assert res.exit_code == 1 and "SQL failed" in res.output


def test_cli_pass_rates_outliers_duckdb(data: Path, tmp_path: Path) -> None:
    res = _cli("pass-rates", "--data-dir", data, "--by", "metric,language", "--format", "csv")
    assert res.exit_code == 0, res.output
    df = pl.read_csv(res.output.encode())
    assert {"metric_name", "scenario_language", "ci_low"} <= set(df.columns)
    res = _cli("outliers", "--data-dir", data, "--limit", "3", "--format", "json")
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)) <= 3
    res = _cli("duckdb", "--data-dir", data, "--out", tmp_path / "x.duckdb")
    assert res.exit_code == 0 and (tmp_path / "x.duckdb").is_file()
    res = _cli("pass-rates", "--data-dir", tmp_path / "nothing")
    assert res.exit_code == 1 and "does not exist" in res.output
    for cmd in ("sql", "duckdb", "pass-rates", "outliers"):
        assert _cli(cmd, "--help").exit_code == 0


def test_metric_rows_of_a_run_not_yet_committed_are_not_seen(tmp_path: Path) -> None:
    """A crash between the run_metrics commit and the runs commit of a batch leaves metric
    rows of runs not in ``runs``: no view shows them; the rerun commits the runs."""
    write_tables(
        tmp_path,
        runs=[run(1)],
        run_metrics=[result(1, 1, score=1.0), result(2, 1, score=0.0)],
        metrics=[{"metric_id": 1, "name": "Greeting", "eval_type": "binary"}],
    )
    got = query(tmp_path, "select run_id, passed from metric_results order by 1")
    assert got.rows() == [(1, True)]
    assert query(tmp_path, "select count(*) as n from pass_rates_by_metric")["n"].item() == 1
    assert (
        query(tmp_path, "select n_evaluated from pass_rates_by_metric")["n_evaluated"].item() == 1
    )


def test_contract_columns_of_the_headline_views() -> None:
    """The columns other work depends on (issue 3), stated here on their own."""
    assert KEYS["pass_rates_by_metric"] == ["metric_id", "metric_name"]
    assert KEYS["pass_rates_by_metric_personality"] == [
        "metric_id", "metric_name", "personality_id", "personality_name"
    ]  # fmt: skip
    assert KEYS["pass_rates_daily"] == ["day", "metric_id", "metric_name"]
    assert list(RATE_COLUMNS) == RATES


@pytest.mark.parametrize("view", list(PASS_RATE_VIEWS))
def test_rate_view_files_are_generated_from_the_map(view: str) -> None:
    """The SQL files and rates.PASS_RATE_VIEWS agree (tools/gen_rate_views.py writes them)."""
    assert (sql_dir() / "marts" / view_file(view)).read_text() == view_sql(view)


def test_the_statistics_macros_file_is_generated_from_stats() -> None:
    """The SQL of the clustered interval and the t quantile is stats.sql_macros, written by
    tools/gen_views.py: the views and the Python statistics cannot drift apart."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "gen_views", Path(__file__).resolve().parents[2] / "tools" / "gen_views.py"
    )
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.MACROS.read_text() == tool.macros_file()
    assert "clustered_low" in tool.macros_file() and "t975" in tool.macros_file()


def test_the_tables_are_views_under_their_own_names(tmp_path: Path) -> None:
    """``select count(*) from runs`` works as the README's table list suggests: every
    extracted table is a view of its stored rows and columns, and no view name clashes."""
    from cekura_analytics.lake.tables import EXTRACTED, SCHEMAS

    assert set(EXTRACTED).isdisjoint(view_names())
    d = write_tables(
        tmp_path, runs=[run(1), run(2)], run_metrics=[result(1, 5, metric_name="M", score=1.0)]
    )
    con = connect(d)
    try:
        for table in EXTRACTED:
            got = con.sql(f"select * from {table}").pl()
            assert got.columns[: len(SCHEMAS[table])] == list(SCHEMAS[table]), table
        assert con.sql("select count(*) from runs").fetchall() == [(2,)]
        assert con.sql("select metric_name from run_metrics").fetchall() == [("M",)]
        assert con.sql("select count(*) from agents").fetchall() == [(0,)]  # not written: empty
    finally:
        con.close()


def test_the_duckdb_file_opens_as_its_message_says(tmp_path: Path) -> None:
    """The message names a way to open the file that the user has (Python's duckdb, run
    here as printed) and says the file reads the data dir by absolute path."""
    import shlex
    import subprocess
    import sys

    d = write_tables(tmp_path / "d", runs=[run(1)], run_metrics=[result(1, 1, score=1.0)])
    out = tmp_path / "views.duckdb"
    res = _cli("duckdb", "--data-dir", d, "--out", out)
    assert res.exit_code == 0, res.output
    assert "by absolute path" in res.output and str(d.resolve()) in res.output
    assert "package manager" in res.output and f"duckdb {out}" in res.output
    (line,) = [ln for ln in res.output.splitlines() if "python -c" in ln]
    command = shlex.split(line.split("open it with Python's duckdb: ", 1)[1])
    assert command[:2] == ["python", "-c"]
    shown = subprocess.run(
        [sys.executable, "-c", command[2]], capture_output=True, text=True, check=True
    ).stdout
    assert "metric_id" in shown and "pass_rate" in shown and "1 row" in shown


def test_as_of_before_the_first_extract_is_an_error_not_zero_rows(tmp_path: Path) -> None:
    """Version 0 (the empty table the first extract starts with) or a time before it would
    answer "0 rows" with exit 0: it is a one-line error, exit 2."""
    with Store(tmp_path, lock=True) as store:
        store.save_state()  # what extract commits first: the window it is about to fetch
        empty = store.version("runs")
        store.upsert_runs(frame("runs", [run(1)]), frame("run_metrics", [result(1, 1)]))
    for as_of in (empty, "2020-01-01"):
        with pytest.raises(ConfigError, match="no run had been extracted yet then") as err:
            query(tmp_path, "select count(*) from runs", as_of=as_of)
        assert "\n" not in str(err.value)
    res = _cli("sql", "--data-dir", tmp_path, "select count(*) from runs", "--as-of", str(empty))
    assert res.exit_code == 2 and res.output.startswith("error: --as-of ")
    assert query(tmp_path, "select count(*) as n from runs", as_of=empty + 1)["n"].item() == 1


def test_as_of_a_version_optimize_removed_says_so_not_repair(tmp_path: Path) -> None:
    """Files ``optimize`` vacuumed were removed on purpose: the error says time travel ends
    there, not that a file is damaged and needs ``extract --repair``."""
    from cekura_analytics.lake.maintenance import optimize

    write_tables(tmp_path, runs=[run(1)], run_metrics=[result(1, 1, score=1.0)])
    first = DeltaTable(str(tmp_path / "runs")).version()
    write_tables(tmp_path, runs=[run(2)], run_metrics=[result(2, 1, score=1.0)])
    optimize(tmp_path, retain_days=0)
    with pytest.raises(ConfigError, match="`optimize` has since deleted") as err:
        query(tmp_path, "select count(*) from runs", as_of=first)
    assert "repair" not in str(err.value) and "retain-days" in str(err.value)
    assert query(tmp_path, "select count(*) as n from runs")["n"].item() == 2
