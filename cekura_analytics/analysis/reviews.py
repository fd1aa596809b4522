"""How far to trust each metric: the LLM judge's verdicts against the human reviews.

Reviewed runs carry the reviewer's run verdict (``reviewed_success`` / ``reviewed_failure``)
and, per failed metric, a critical category a reviewer may mark ``wrongly_marked``.
:func:`review_agreement` is the twin of the review views
(:func:`~cekura_analytics.warehouse.families.review_sql`) with a scope: per metric the
overturn and missed rates and the pass rate corrected by them
(:func:`~.stats.corrected_pass_rate`), or per agent the judge-vs-reviewer agreement with
Cohen's kappa (:func:`~.stats.cohen_kappa`).

Reviewers pick runs on purpose (failures far more often than passes, some metrics always):
every rate here holds only as far as the reviewed runs are typical of their verdict.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..defaults import MIN_REVIEWED, REVIEW_BY
from ..errors import ConfigError, DataError
from ..scope import Scope, scope_sql
from ..warehouse.connection import Source, fetch, opened
from ..warehouse.families import choose_by, rates_sql, review_sql
from .flakiness import METRIC_SQL
from .rates import scoped_source
from .stats import cohen_kappa, corrected_pass_rate

#: what the per-metric rows gain: the judge's pass rate over every result in scope (scenario-
#: clustered interval) and the corrected one, with the judge's implied sensitivity/specificity
CORRECTION_COLUMNS = {
    "n_evaluated": pl.Int64,
    "judge_pass_rate": pl.Float64,
    "judge_ci_low": pl.Float64,
    "judge_ci_high": pl.Float64,
    "corrected_pass_rate": pl.Float64,
    "corrected_ci_low": pl.Float64,
    "corrected_ci_high": pl.Float64,
    "judge_sensitivity": pl.Float64,
    "judge_specificity": pl.Float64,
    "correction_note": pl.String,
}
KAPPA_COLUMNS = {"kappa": pl.Float64, "kappa_ci_low": pl.Float64, "kappa_ci_high": pl.Float64}


def _corrected(
    counts: pl.DataFrame, judge: pl.DataFrame, keys: list[str], min_reviewed: int
) -> pl.DataFrame:
    """The per-metric counts with the judge's pass rate and the corrected one beside them."""
    rates = judge.select(
        *keys,
        pl.col("n_evaluated").cast(pl.Int64),
        judge_pass_rate="pass_rate",
        judge_ci_low="ci_low",
        judge_ci_high="ci_high",
    )
    df = counts.join(rates, on=keys, how="left", nulls_equal=True)
    out: list[dict[str, Any]] = []
    for r in df.iter_rows(named=True):
        row = {c: r.get(c) for c in CORRECTION_COLUMNS}
        if r["judge_pass_rate"] is None:
            row["correction_note"] = "no evaluated results in scope"
        else:
            got = corrected_pass_rate(
                (r["judge_pass_rate"], r["judge_ci_low"], r["judge_ci_high"]),
                r["n_overturned"],
                r["n_reviewed_failed"],
                r["n_missed"],
                r["n_reviewed_passed"],
                min_reviewed=min_reviewed,
            )
            row |= {
                "corrected_pass_rate": got.rate,
                "corrected_ci_low": got.ci_low,
                "corrected_ci_high": got.ci_high,
                "judge_sensitivity": got.sensitivity,
                "judge_specificity": got.specificity,
                "correction_note": got.reason,
            }
        out.append(row)
    extra = pl.DataFrame(out, schema=CORRECTION_COLUMNS)
    return pl.concat(
        [df.drop([c for c in CORRECTION_COLUMNS if c in df.columns]), extra], how="horizontal"
    )


def _with_kappa(df: pl.DataFrame) -> pl.DataFrame:
    """The agreement rows with Cohen's kappa and its 95 % interval beside them."""
    cells = ("n_both_passed", "n_judge_passed_reviewer_failed", "n_judge_failed_reviewer_passed",
             "n_both_failed")  # fmt: skip
    rows = []
    for r in df.select(cells).iter_rows():
        k = cohen_kappa(*(int(c) for c in r))
        rows.append({"kappa": k.kappa, "kappa_ci_low": k.ci_low, "kappa_ci_high": k.ci_high})
    return pl.concat([df, pl.DataFrame(rows, schema=KAPPA_COLUMNS)], how="horizontal")


def review_agreement(
    data_dir: Source,
    by: str = REVIEW_BY[0],
    *,
    metric: str | int | None = None,
    since: str | date | datetime | None = None,
    agent_id: int | str | None = None,
    min_reviewed: int = MIN_REVIEWED,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """The judge against the human reviewers, over the runs in scope.

    ``by="metric"`` (or ``"metric,agent_version"``): per metric, reviewed failures and the
    share a reviewer overturned, reviewed passes and the share of their runs the reviewer
    failed (the missed rate, run level), each with a Wilson 95 % interval; the judge's pass
    rate over every result in scope, and the pass rate corrected by the two rates
    (:func:`~.stats.corrected_pass_rate`), shown where at least ``min_reviewed`` failures
    and passes were reviewed (else ``correction_note`` says why).

    ``by="agent"`` (or ``"agent_version"``): per agent (and version), the reviewed runs' 2 × 2
    of the judge's run verdict against the reviewer's, percent agreement and Cohen's kappa,
    each with a 95 % interval. ``metric`` applies to the per-metric rows only.

    Reviewers choose the runs they look at: the rates hold as far as the reviewed runs are
    typical of their verdict.
    """
    if min_reviewed < 1:
        raise ConfigError(f"--min-reviewed {min_reviewed}: give a positive number, e.g. 20")
    by = choose_by(by, REVIEW_BY, "review-agreement")
    per_metric = by.startswith("metric")
    params = Scope.of(since, agent_id).params()
    where = scope_sql()
    if per_metric:
        params["metric"] = None if metric is None else str(metric)
        where += f" and {METRIC_SQL}"
    statement = review_sql(by, where)
    with opened(data_dir, rules, as_of=as_of) as con:
        counts = fetch(con, statement, params)
        if counts.is_empty():
            which = f" of metric {metric!r}" if metric is not None and per_metric else ""
            raise DataError(
                f"no reviewed runs{which} in scope: reviews come from the Cekura dashboard "
                "(evaluation_status reviewed_success / reviewed_failure)"
            )
        if not per_metric:
            return _with_kappa(counts)
        dims = ("metric", "agent_version") if by == "metric,agent_version" else ("metric",)
        # the judge's rate over every result in scope
        source, judged = scoped_source(dims, timed=params["since"] is not None)
        judge = fetch(con, rates_sql(dims, source, where=f"{judged} and {METRIC_SQL}"), params)
    keys = ["metric_id", "agent_id", "agent_version"] if len(dims) == 2 else ["metric_id"]
    return _corrected(counts, judge, keys, min_reviewed)


__all__ = ["CORRECTION_COLUMNS", "KAPPA_COLUMNS", "review_agreement"]
