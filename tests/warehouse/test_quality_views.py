"""The flakiness and review views (issue 18) against the mock's planted truth, against an
independent computation in polars / Python on the same tables, and on crafted edge cases."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import Planted
from factories import T0, result, run, write_tables
from polars.testing import assert_frame_equal

from cekura_analytics.analysis.stats import clustered_interval, wilson_interval
from cekura_analytics.warehouse.connection import connect, query, sql_dir
from cekura_analytics.warehouse.families import QUALITY_VIEWS, view_file, view_sql

CELL = ["scenario_id", "metric_id", "agent_id", "agent_version"]
#: two-sided normal quantile for 99.5 %: 95 % family-wise over the 10 metrics (Bonferroni)
Z_FAMILY = 2.807


@pytest.fixture(scope="module")
def con(planted_4k: Planted) -> Any:
    c = connect(planted_4k.data_dir)
    yield c
    c.close()


@pytest.fixture(scope="module")
def results(con: Any) -> pl.DataFrame:
    return con.sql(
        "select run_id, metric_id, metric_name, scenario_id, scenario_name, agent_id,"
        " agent_version, timestamp, week, passed from metric_results"
    ).pl()


def expected_cells(results: pl.DataFrame, extra: tuple[str, ...] = ()) -> pl.DataFrame:
    """flaky_scenarios recomputed in polars: evaluated results in run order per cell."""
    keys = [*CELL, *extra]
    evaluated = results.filter(pl.col("passed").is_not_null(), pl.col("scenario_id").is_not_null())
    return (
        evaluated.sort("timestamp", "run_id")
        .group_by(keys, maintain_order=True)
        .agg(
            pl.col("scenario_name").first(),
            pl.col("metric_name").first(),
            n_runs=pl.len(),
            n_passed=pl.col("passed").sum().cast(pl.Int64),
            outcomes=pl.when(pl.col("passed")).then(pl.lit("P")).otherwise(pl.lit("F")).str.join(),
            first_run_at=pl.col("timestamp").min(),
            last_run_at=pl.col("timestamp").max(),
            example_failed_run_id=pl.col("run_id").filter(~pl.col("passed")).last(),
        )
        .filter(pl.col("n_runs") >= 2)
        .with_columns(
            n_runs=pl.col("n_runs").cast(pl.Int64),
            pass_rate=pl.col("n_passed") / pl.col("n_runs"),
            is_flaky=(pl.col("n_passed") > 0) & (pl.col("n_passed") < pl.col("n_runs")),
        )
    )


@pytest.mark.parametrize(
    ("view", "extra"), [("flaky_scenarios", ()), ("flaky_scenarios_weekly", ("week",))]
)
def test_flaky_cells_equal_the_independent_ones(
    con: Any, results: pl.DataFrame, view: str, extra: tuple[str, ...]
) -> None:
    got = con.sql(f"select * from {view}").pl()
    want = expected_cells(results, extra).select(got.columns)
    keys = [*CELL, *extra]
    assert got.height > 1000
    assert_frame_equal(got.sort(keys, nulls_last=True), want.sort(keys, nulls_last=True),
                       check_dtypes=False)  # fmt: skip
    assert got["outcomes"].str.len_chars().to_list() == got["n_runs"].to_list()


def test_flaky_scenarios_flag_exactly_the_planted_cells_with_both_outcomes(
    con: Any, results: pl.DataFrame, planted_4k: Planted
) -> None:
    """Every scenario × metric × version cell the runs show twice or more is in the view with
    the counts the mock realised; flaky exactly where both outcomes occurred, never where the
    planted pass probability is 0 or 1. (Metrics with unknown verdicts -- Response Latency
    without an 'lte' threshold in the rules -- count fewer runs than the mock: they are
    checked against polars above.)"""
    unknown = set(results.filter(pl.col("passed").is_null())["metric_id"].unique())
    truth = pl.DataFrame(planted_4k.flaky).filter(
        pl.col("n_runs") >= 2, ~pl.col("metric_id").is_in(list(unknown))
    )
    got = (
        con.sql("select * from flaky_scenarios where agent_version is not null").pl()
        .filter(~pl.col("metric_id").is_in(list(unknown)))
    )  # fmt: skip
    joined = truth.join(
        got, left_on=[*CELL[:3], "version_name"], right_on=CELL, how="full", suffix="_view"
    )
    assert joined.height == truth.height == got.height > 2000
    assert (joined["n_runs"] == joined["n_runs_view"]).all()
    assert (joined["n_passed"] == joined["n_passed_view"]).all()
    both = (joined["n_passed"] > 0) & (joined["n_passed"] < joined["n_runs"])
    assert (joined["is_flaky"] == both).all() and both.sum() > 500
    flagged = joined.filter(pl.col("is_flaky"))
    assert set(flagged["kind"]) == {"flaky"}  # a planted-stable cell never flips
    planted_between = (truth["kind"] == "flaky").sum()
    print(f"flagged {flagged.height} = both outcomes {both.sum()}; planted {planted_between}")


def _expected_shares(cells: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per group: the three shares and their clustered intervals from stats.clustered_interval
    over the scenarios' (cells of the kind, cells)."""
    rows = []
    for key, part in cells.group_by(keys, maintain_order=True):
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        per_scenario = part.group_by("scenario_id").agg(
            n=pl.len(),
            always_passed=(pl.col("n_passed") == pl.col("n_runs")).sum(),
            flaky=pl.col("is_flaky").sum(),
            always_failed=(pl.col("n_passed") == 0).sum(),
        )
        row |= {"n_scenarios": per_scenario.height, "n_cells": part.height,
                "n_runs": part["n_runs"].sum()}  # fmt: skip
        for kind in ("always_passed", "flaky", "always_failed"):
            pairs = list(zip(per_scenario[kind], per_scenario["n"], strict=True))
            ci = clustered_interval([(int(k), int(n)) for k, n in pairs])
            row |= {f"n_{kind}": ci.n_passed, f"share_{kind}": ci.rate,
                    f"{kind}_ci_low": ci.ci_low, f"{kind}_ci_high": ci.ci_high}  # fmt: skip
        rows.append(row)
    return pl.DataFrame(rows)


@pytest.mark.parametrize(
    ("view", "keys", "extra"),
    [
        ("flaky_metrics", ["metric_id"], ()),
        ("flaky_metrics_by_agent_version", ["metric_id", "agent_id", "agent_version"], ()),
        ("flaky_metrics_weekly", ["metric_id", "week"], ("week",)),
    ],
)
def test_flaky_shares_equal_the_clustered_interval_of_the_cells(
    con: Any, results: pl.DataFrame, view: str, keys: list[str], extra: tuple[str, ...]
) -> None:
    want = _expected_shares(expected_cells(results, extra), keys)
    got = con.sql(f"select * from {view}").pl().select(want.columns)
    assert_frame_equal(got.sort(keys, nulls_last=True), want.sort(keys, nulls_last=True),
                       check_dtypes=False, rel_tol=1e-9)  # fmt: skip


def test_same_pass_rate_two_agents(con: Any) -> None:
    """Empathy's failures are flips (every angry / impatient scenario passes about half the
    time), Instruction Following's are stable (Hindi scenarios that always fail): the views
    tell the two apart where a pass rate cannot."""
    df = con.sql("select * from flaky_metrics").pl()
    row = {r["metric_name"]: r for r in df.iter_rows(named=True)}
    emp, ins = row["Empathy"], row["Instruction Following"]
    assert abs(emp["pass_rate"] - ins["pass_rate"]) < 0.05
    assert emp["flaky_ci_low"] > ins["flaky_ci_high"]
    assert ins["always_failed_ci_low"] > emp["always_failed_ci_high"]


# ---------------------------------------------------------------- reviews
def _category_metric(cat: Any, metrics: dict[int, str]) -> int | None:
    """The metric a category names: by id, else by name (case and spaces ignored)."""
    if not isinstance(cat, dict):
        return None
    try:
        cid = int(cat.get("category_id"))
    except (TypeError, ValueError):
        cid = None
    if cid in metrics:
        return cid
    name = str(cat.get("category") or "").strip().lower()
    return next((m for m, n in metrics.items() if name and (n or "").strip().lower() == name), None)


def expected_reviewed(con: Any) -> pl.DataFrame:
    """reviewed_results recomputed in Python: the categories parsed with json.loads."""
    runs = con.sql(
        "select run_id, is_reviewed, evaluation_status, critical_categories_json from stg_runs"
    ).pl()
    res = con.sql(
        "select run_id, metric_id, metric_name, passed, agent_id from metric_results"
    ).pl()
    by_run: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in res.iter_rows(named=True):
        by_run[r["run_id"]].append(r)
    rows = []
    for r in runs.iter_rows(named=True):
        status = (r["evaluation_status"] or "").lower()
        if not (r["is_reviewed"] or status in ("reviewed_success", "reviewed_failure")):
            continue
        items = by_run.get(r["run_id"], [])
        metrics = {i["metric_id"]: i["metric_name"] for i in items}
        try:
            cats = json.loads(r["critical_categories_json"] or "null")
        except json.JSONDecodeError:
            cats = None
        marks: dict[int, list[bool]] = defaultdict(list)
        for cat in cats if isinstance(cats, list) else []:
            m = _category_metric(cat, metrics)
            if m is not None:
                marks[m].append(cat.get("wrongly_marked") in (True, "true"))
        verdicts = [i["passed"] for i in items]
        judge = False if False in verdicts else (True if None not in verdicts else None)
        reviewer = {"reviewed_success": True, "reviewed_failure": False}.get(status)
        for i in items:
            overturned = (
                i["passed"] is False
                and bool(marks.get(i["metric_id"]))
                and all(marks[i["metric_id"]])
            )
            rows.append(
                {"run_id": r["run_id"], "metric_id": i["metric_id"], "passed": i["passed"],
                 "is_overturned": overturned, "is_judge_run_passed": judge,
                 "is_reviewer_run_passed": reviewer, "agent_id": i["agent_id"]}
            )  # fmt: skip
    schema = {"run_id": pl.Int64, "metric_id": pl.Int64, "passed": pl.Boolean,
              "is_overturned": pl.Boolean, "is_judge_run_passed": pl.Boolean,
              "is_reviewer_run_passed": pl.Boolean, "agent_id": pl.Int64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def _check_reviewed(con: Any) -> pl.DataFrame:
    want = expected_reviewed(con)
    got = con.sql(f"select {', '.join(want.columns)} from reviewed_results").pl()
    keys = ["run_id", "metric_id"]
    assert_frame_equal(got.sort(keys), want.sort(keys), check_dtypes=False)
    return want


def test_reviewed_results_equal_the_independent_ones(con: Any) -> None:
    want = _check_reviewed(con)
    assert want["run_id"].n_unique() > 1000 and want["is_overturned"].sum() > 100


def test_metric_review_agreement_recovers_the_planted_reviews(
    con: Any, results: pl.DataFrame, planted_4k: Planted
) -> None:
    got = con.sql("select * from metric_review_agreement").pl()
    truth = {m["metric_id"]: m for m in planted_4k.reviews["metrics"]}
    unknown = set(results.filter(pl.col("passed").is_null())["metric_id"].unique())
    inside_95 = 0
    for r in got.iter_rows(named=True):
        t = truth[r["metric_id"]]
        if r["metric_id"] not in unknown:  # every failure decided: the mock's counts exactly
            assert (r["n_reviewed_failed"], r["n_overturned"]) == (
                t["n_reviewed_failed"], t["n_overturned"]
            )  # fmt: skip
        assert r["n_reviewed_failed"] >= 20
        low, high = wilson_interval(r["n_overturned"], r["n_reviewed_failed"], Z_FAMILY)
        assert low is not None and high is not None
        assert low <= t["overturn_rate"] <= high, r  # family-wise 95 % over the 10 metrics
        low, high = wilson_interval(r["n_missed"], r["n_reviewed_passed"], Z_FAMILY)
        assert low is not None and high is not None and low <= t["missed_rate"] <= high, r
        inside_95 += r["overturn_ci_low"] <= t["overturn_rate"] <= r["overturn_ci_high"]
        k, n = r["n_overturned"], r["n_reviewed_failed"]
        lo, hi = r["overturn_ci_low"], r["overturn_ci_high"]
        print(f"{r['metric_name']:<27} overturned {k:>3}/{n:<3} = {k / n:.3f} [{lo:.3f}, {hi:.3f}]"
              f" planted {t['overturn_rate']:.2f}")  # fmt: skip
    assert inside_95 >= 8  # each 95 % interval alone: about 9.5 of 10 expected
    worst = planted_4k.reviews["miscalibrated_metric_id"]
    ranked = got.sort("overturn_rate", descending=True)
    assert ranked["metric_id"][0] == worst
    others = max(t["overturn_rate"] for m, t in truth.items() if m != worst)
    assert ranked["overturn_ci_low"][0] > others  # clearly above every other planted rate


def test_metric_review_agreement_equals_the_independent_counts(con: Any) -> None:
    want = _check_reviewed(con)
    clean = pl.col("passed") & pl.col("is_judge_run_passed")
    counts = want.group_by("metric_id").agg(
        n_reviewed_failed=(pl.col("passed") == False).sum(),  # noqa: E712
        n_overturned=pl.col("is_overturned").sum(),
        n_reviewed_passed=(clean & pl.col("is_reviewer_run_passed").is_not_null()).sum(),
        n_missed=(clean & ~pl.col("is_reviewer_run_passed")).sum(),
    )
    got = con.sql(f"select {', '.join(counts.columns)} from metric_review_agreement").pl()
    assert_frame_equal(got.sort("metric_id"), counts.sort("metric_id"), check_dtypes=False)


def test_review_agreement_is_the_run_level_two_by_two(con: Any, planted_4k: Planted) -> None:
    want = _check_reviewed(con)
    runs = want.group_by("run_id").agg(
        pl.col("agent_id").first(),
        judge=pl.col("is_judge_run_passed").first(),
        reviewer=pl.col("is_reviewer_run_passed").first(),
    )
    got = con.sql(
        "select agent_id, sum(n_reviewed) as n, sum(n_both_passed) as pp,"
        " sum(n_judge_passed_reviewer_failed) as pf, sum(n_judge_failed_reviewer_passed) as fp,"
        " sum(n_both_failed) as ff, sum(n_unknown) as u from review_agreement group by agent_id"
    ).pl()
    truth = {a["agent_id"]: a for a in planted_4k.reviews["agents"]}
    for r in got.iter_rows(named=True):
        mine = runs.filter(pl.col("agent_id") == r["agent_id"])
        j, v = mine["judge"], mine["reviewer"]
        assert (r["n"], r["pp"], r["pf"]) == (mine.height, (j & v).sum(), (j & ~v).sum())
        assert (r["fp"], r["ff"]) == ((~j & v).sum(), (~j & ~v).sum())
        assert r["u"] == (j.is_null() | v.is_null()).sum()
        t = truth[r["agent_id"]]
        # the mock's 2 x 2, less the runs whose verdict is unknown here (Response Latency)
        assert r["n"] == t["n_reviewed"]
        cells = zip(("pp", "pf", "fp", "ff"), ("n_both_passed", "n_judge_passed_reviewer_failed",
                    "n_judge_failed_reviewer_passed", "n_both_failed"), strict=True)  # fmt: skip
        assert all(r[a] <= t[b] for a, b in cells)
        assert r["pp"] + r["pf"] + r["fp"] + r["ff"] + r["u"] == t["n_reviewed"]


def test_review_matching_edge_cases(tmp_path: Path) -> None:
    """Categories matched by id, else by name; only fully overturned failures count; odd
    JSON holds no categories; statuses in any case; unknown verdicts stay unknown."""
    metrics = [{"metric_id": 1, "name": "Greeting", "eval_type": "binary"},
               {"metric_id": 2, "name": "Empathy", "eval_type": "numeric"}]  # fmt: skip

    def rm(rid: int, ok1: bool | None, ok2: bool | None) -> list[dict[str, Any]]:
        return [result(rid, 1, metric_passed=ok1, eval_type="binary"),
                result(rid, 2, metric_passed=ok2, score=3.0, eval_type="numeric")]  # fmt: skip

    cats = {
        1: [{"category_id": 1, "wrongly_marked": True}],
        2: [{"category": " greeting ", "wrongly_marked": True},  # no id: by name
            {"category_id": 99, "category": "EMPATHY", "wrongly_marked": False}],  # not a metric
        3: [{"category_id": 1, "wrongly_marked": True},
            {"category_id": 1, "wrongly_marked": False}],  # one upheld: not overturned
        6: [{"category_id": 1, "wrongly_marked": True}],  # on a passed result: ignored
        7: [{"category_id": 1, "wrongly_marked": True}],  # not reviewed
        11: [{"category_id": "1", "wrongly_marked": "true"}],  # id and mark as text
    }  # fmt: skip
    plan = {  # run: (evaluation_status, is_reviewed, metric 1 passed, metric 2 passed)
        1: ("reviewed_success", True, False, True),
        2: ("reviewed_failure", True, False, False),
        3: ("reviewed_failure", True, False, True),
        4: ("reviewed_failure", True, False, True),
        5: ("reviewed_failure", True, False, True),
        6: ("reviewed_failure", True, True, True),
        7: ("failure", False, False, True),
        8: ("success", True, True, True),
        9: ("reviewed_success", True, True, None),
        10: ("REVIEWED_FAILURE", None, False, True),
        11: ("reviewed_success", True, False, True),
    }
    raw = {4: "not json", 5: '{"category_id": 1, "wrongly_marked": true}'}
    runs, rms = [], []
    for rid, (status, reviewed, ok1, ok2) in plan.items():
        text = raw.get(rid, json.dumps(cats.get(rid, [])))
        runs.append(run(rid, evaluation_status=status, is_reviewed=reviewed,
                        critical_categories_json=text, timestamp=T0))  # fmt: skip
        rms += rm(rid, ok1, ok2)
    d = write_tables(tmp_path / "d", runs=runs, run_metrics=rms, metrics=metrics)
    c = connect(d)
    try:
        want = _check_reviewed(c)
    finally:
        c.close()
    got = query(d, "select run_id, metric_id, is_overturned, is_judge_run_passed,"
                   " is_reviewer_run_passed from reviewed_results order by all")  # fmt: skip
    overturned = {(r, m) for r, m, o, *_ in got.rows() if o}
    assert overturned == {(1, 1), (2, 1), (11, 1)}
    assert set(got["run_id"]) == set(plan) - {7} == set(want["run_id"])
    verdicts = {r: (j, v) for r, _, _, j, v in got.rows()}
    assert (
        verdicts[8] == (True, None)
        and verdicts[9] == (None, True)
        and verdicts[10] == (False, False)
    )
    missed = query(d, "select metric_id, n_reviewed_passed, n_missed from metric_review_agreement")
    assert missed.rows() == [(1, 1, 1), (2, 1, 1)]  # run 6 (run 8 has no reviewer verdict)


@pytest.mark.parametrize("view", list(QUALITY_VIEWS))
def test_quality_view_files_are_generated(view: str) -> None:
    """The SQL files and families.QUALITY_VIEWS agree (tools/gen_views.py writes them)."""
    assert (sql_dir() / "marts" / view_file(view)).read_text() == view_sql(view)
