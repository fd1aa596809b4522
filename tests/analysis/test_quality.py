"""flaky() and review_agreement(): the twins of the issue-18 views with a scope, a metric and
the statistics added in Python (kappa, the corrected pass rate), over the planted mock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import Planted
from factories import result, run, write_tables
from polars.testing import assert_frame_equal

from cekura_analytics import flaky, review_agreement
from cekura_analytics.analysis.flakiness import flaky_scenarios_of
from cekura_analytics.analysis.stats import cohen_kappa, corrected_pass_rate
from cekura_analytics.defaults import FLAKY_BY, MIN_REVIEWED
from cekura_analytics.errors import ConfigError, DataError
from cekura_analytics.warehouse.connection import connect

VIEWS = {
    "metric": "flaky_metrics",
    "metric,agent_version": "flaky_metrics_by_agent_version",
    "metric,week": "flaky_metrics_weekly",
    "scenario": "flaky_scenarios",
    "scenario,week": "flaky_scenarios_weekly",
}
CELL = ["scenario_id", "metric_id", "agent_id", "agent_version"]


@pytest.fixture(scope="module")
def con(planted_4k: Planted) -> Any:
    c = connect(planted_4k.data_dir)
    yield c
    c.close()


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(df.columns[:7], nulls_last=True)


@pytest.mark.parametrize("by", FLAKY_BY)
def test_flaky_is_the_twin_of_its_view(con: Any, by: str) -> None:
    got = flaky(con, by)
    view = con.sql(f"select * from {VIEWS[by]}").pl()
    assert got.height == view.height > 0
    assert_frame_equal(_sorted(got), _sorted(view))


def test_flaky_scope_and_metric(con: Any) -> None:
    """--since, --agent-id and --metric narrow the runs before cells are formed: the counts
    equal a recount of metric_results in polars."""
    results = con.sql("select * from metric_results where passed is not null").pl()
    since = results["timestamp"].max() - timedelta(days=60)
    got = flaky(con, "scenario", since=since.isoformat(), agent_id=102, metric="Empathy")
    want = (
        results.filter(
            pl.col("timestamp") >= since,
            pl.col("agent_id") == 102,
            pl.col("metric_name") == "Empathy",
            pl.col("scenario_id").is_not_null(),
        )
        .group_by(CELL)
        .agg(n_runs=pl.len(), n_passed=pl.col("passed").sum())
        .filter(pl.col("n_runs") >= 2)
    )
    assert got.height == want.height > 10
    assert set(got["agent_id"]) == {102} and set(got["metric_name"]) == {"Empathy"}
    assert (got["first_run_at"] >= since).all()
    pairs = got.select(*CELL, "n_runs", "n_passed").join(want, on=CELL, nulls_equal=True)
    assert pairs.height == got.height
    assert (pairs["n_runs"] == pairs["n_runs_right"]).all()
    assert (pairs["n_passed"] == pairs["n_passed_right"]).all()
    by_id = flaky(con, "metric", metric=306, since=since.isoformat(), agent_id="102")
    assert by_id["metric_name"].to_list() == ["Empathy"]
    assert by_id["n_cells"][0] == got.height


def test_flaky_only_lists_the_flakiest_first(con: Any) -> None:
    got = flaky(con, "scenario", flaky_only=True)
    assert got.height > 500 and got["is_flaky"].all()
    assert got["outcomes"].str.contains("P").all() and got["outcomes"].str.contains("F").all()
    minority = [min(k, n - k) / n for k, n in zip(got["n_passed"], got["n_runs"], strict=True)]
    assert minority == sorted(minority, reverse=True) and minority[0] == 0.5
    everything = flaky(con, "scenario")
    assert everything.height > got.height
    assert everything["is_flaky"].to_list()[: got.height] == [True] * got.height


@pytest.mark.parametrize(
    "kwargs",
    [
        {"flaky_only": True, "limit": 10},
        {"limit": 25},
        {"flaky_only": True, "limit": 7, "agent_id": 102, "metric": "Empathy"},
        {"flaky_only": True, "limit": 5, "since": "2000-01-01"},  # a start: the single results
        {"limit": 100_000},  # more than there are
    ],
)
def test_flaky_limit_is_the_head_of_the_whole(con: Any, kwargs: dict[str, Any]) -> None:
    # the limited listing ranks cells on their counts first, then reads only their results
    limit = kwargs.pop("limit")
    whole = flaky(con, "scenario", **kwargs)
    got = flaky(con, "scenario", limit=limit, **kwargs)
    assert got.height == min(limit, whole.height) > 0
    assert_frame_equal(got, whole.head(limit))


def test_flaky_scenarios_of_a_gate_cell(con: Any) -> None:
    got = flaky_scenarios_of(con, 101, 306, ["v3", "v4"])
    view = con.sql(
        "select * from flaky_scenarios where agent_id = 101 and metric_id = 306"
        " and agent_version in ('v3', 'v4')"
    ).pl()
    assert got.height == view.height > 50
    assert set(got["agent_version"]) == {"v3", "v4"}
    assert got["is_flaky"].sum() == view["is_flaky"].sum() > 10
    assert flaky_scenarios_of(con, 101, 306, ["v9"]).is_empty()


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"by": "persona"}, ConfigError, "flaky --by 'persona'"),
        ({"since": "last tuesday"}, ConfigError, "--since"),
        ({"metric": "No Such Metric"}, DataError, "No Such Metric"),
        ({"flaky_only": True}, ConfigError, "use it with --by scenario"),
        ({"limit": 3}, ConfigError, "use it with --by scenario"),
    ],
)
def test_flaky_bad_input_is_one_line(
    planted_4k: Planted, kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words) as info:
        flaky(planted_4k.data_dir, **kwargs)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- reviews
def test_review_agreement_per_metric(con: Any, planted_4k: Planted) -> None:
    got = review_agreement(con)
    view = con.sql("select * from metric_review_agreement").pl()
    assert_frame_equal(got.select(view.columns), view)
    judge = con.sql("select * from pass_rates_by_metric").pl()
    truth = {m["metric_id"]: m for m in planted_4k.reviews["metrics"]}
    inside = 0
    for r, j in zip(got.iter_rows(named=True), judge.sort("metric_id").iter_rows(named=True),
                    strict=True):  # fmt: skip
        assert (r["metric_id"], r["n_evaluated"]) == (j["metric_id"], j["n_evaluated"])
        assert (r["judge_pass_rate"], r["judge_ci_low"]) == (j["pass_rate"], j["ci_low"])
        want = corrected_pass_rate(
            (j["pass_rate"], j["ci_low"], j["ci_high"]), r["n_overturned"],
            r["n_reviewed_failed"], r["n_missed"], r["n_reviewed_passed"],
            min_reviewed=MIN_REVIEWED,
        )  # fmt: skip
        assert (r["corrected_pass_rate"], r["corrected_ci_low"], r["corrected_ci_high"]) == (
            want.rate, want.ci_low, want.ci_high
        )  # fmt: skip
        assert r["correction_note"] is None  # every metric has >= 20 reviewed of each
        # the rate a reviewer would give under the planted rates, at the judge's verdicts
        p, o = j["pass_rate"], truth[r["metric_id"]]["overturn_rate"]
        planted = p * (1 - truth[r["metric_id"]]["missed_rate"]) + (1 - p) * o
        lo, hi = r["corrected_ci_low"], r["corrected_ci_high"]
        print(f"{r['metric_name']:<27} judge {p:.3f} corrected {r['corrected_pass_rate']:.3f}"
              f" [{lo:.3f}, {hi:.3f}] planted {planted:.3f}")  # fmt: skip
        inside += lo <= planted <= hi
    assert inside >= 9  # 95 % intervals each: about 9.5 of 10 expected (10 here)


def test_corrected_rate_only_where_enough_was_reviewed(con: Any) -> None:
    got = review_agreement(con, min_reviewed=150)
    few = got.filter(
        (pl.col("n_reviewed_failed") < 150) | (pl.col("n_reviewed_passed") < 150)
    )  # fmt: skip
    assert 0 < few.height < got.height
    assert few["corrected_pass_rate"].is_null().all()
    assert few["correction_note"].str.contains("fewer than 150").all()
    enough = got.filter(pl.col("correction_note").is_null())
    assert enough["corrected_pass_rate"].is_not_null().all() and enough.height > 0
    with pytest.raises(ConfigError, match="--min-reviewed 0"):
        review_agreement(con, min_reviewed=0)


def test_review_agreement_per_metric_and_version(con: Any) -> None:
    got = review_agreement(con, "metric,agent_version")
    view = con.sql("select * from metric_review_agreement_by_agent_version").pl()
    assert_frame_equal(got.select(view.columns), view)
    judge = con.sql("select * from pass_rates_by_metric_agent_version").pl()
    joined = got.join(judge, on=["metric_id", "agent_id", "agent_version"], nulls_equal=True)
    assert joined.height == got.height
    assert (joined["judge_pass_rate"] == joined["pass_rate"]).all()
    assert got["correction_note"].is_not_null().any()  # a version alone has few reviews


@pytest.mark.parametrize("by", ["agent", "agent_version"])
def test_review_agreement_per_agent_has_kappa(con: Any, planted_4k: Planted, by: str) -> None:
    got = review_agreement(con, by)
    versions = con.sql("select * from review_agreement").pl()
    if by == "agent_version":
        assert_frame_equal(got.select(versions.columns), versions)
    else:
        summed = versions.group_by("agent_id").agg(pl.col("n_reviewed", "n_both_failed").sum())
        pairs = got.join(summed, on="agent_id")
        assert (pairs["n_reviewed"] == pairs["n_reviewed_right"]).all()
        assert {a["agent_id"]: a["n_reviewed"] for a in planted_4k.reviews["agents"]} == dict(
            zip(got["agent_id"], got["n_reviewed"], strict=True)
        )
    for r in got.iter_rows(named=True):
        k = cohen_kappa(r["n_both_passed"], r["n_judge_passed_reviewer_failed"],
                        r["n_judge_failed_reviewer_passed"], r["n_both_failed"])  # fmt: skip
        assert (r["kappa"], r["kappa_ci_low"], r["kappa_ci_high"]) == (k.kappa, k.ci_low, k.ci_high)
    if by == "agent":  # the mock's judge agrees well beyond chance, not perfectly
        assert all(0.5 < k < 0.95 for k in got["kappa"])


def test_review_agreement_scope(con: Any, planted_4k: Planted) -> None:
    one = review_agreement(con, agent_id=103)
    runs = con.sql(
        "select count(distinct run_id) as n from reviewed_results where agent_id = 103"
    ).pl()["n"][0]
    assert one["n_reviewed_runs"].max() == runs
    last = con.sql("select max(timestamp) as t from reviewed_results").pl()["t"][0]
    recent = review_agreement(con, "agent", since=(last - timedelta(days=30)).isoformat())
    assert recent["n_reviewed"].sum() < review_agreement(con, "agent")["n_reviewed"].sum()
    sentiment = review_agreement(planted_4k.data_dir, metric="Customer Sentiment")
    assert sentiment["metric_id"].to_list() == [309]
    with pytest.raises(ConfigError, match="review-agreement --by"):
        review_agreement(con, "scenario")


def test_no_reviews_is_a_clear_error(tmp_path: Path) -> None:
    d = write_tables(tmp_path / "d", runs=[run(1), run(2)], run_metrics=[
        result(1, 1, metric_passed=True), result(2, 1, metric_passed=False)])  # fmt: skip
    with pytest.raises(DataError, match="no reviewed runs in scope"):
        review_agreement(d)
    assert flaky(d, "scenario")["outcomes"].to_list() == ["PF"]
