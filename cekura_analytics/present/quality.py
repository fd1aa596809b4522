"""Flakiness and trust in the judge as people read them: the ``flaky`` and
``review-agreement`` tables, the caveat every corrected rate carries, and the report's two
sections ("Flaky scenarios", "How far to trust each metric").

Numbers are formatted by :mod:`.text`; names from the API stay plain text here (the
templates escape them, the table view shows control characters as pictures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from ..analysis.flakiness import flaky
from ..analysis.reviews import review_agreement
from ..defaults import MIN_REVIEWED
from ..errors import DataError
from .quality_charts import flaky_chart, overturn_chart
from .text import MISSING, count, interval, pct, rate_cell, visible_frame

#: the flakiest cells the report lists
FLAKIEST = 10


def trust_caveat(min_reviewed: int = MIN_REVIEWED) -> str:
    """What every corrected pass rate must be read with."""
    return (
        f"Corrected pass rates are shown where reviewers looked at at least {min_reviewed} "
        f"failed and {min_reviewed} passed results of the metric. Reviewers pick runs on "
        "purpose (failures far more often than passes), so a correction holds only as far as "
        "the reviewed runs are typical of their verdict. A reviewer who fails a run the judge "
        "passed does not say which metric missed it: the miss is charged to every metric of "
        "the run, so the corrected rate errs low."
    )


def share_cell(rate: float | None, low: float | None, high: float | None) -> str:
    """A share with its interval: ``50.4 % [45.4 – 55.3 %]``."""
    return f"{pct(rate)} [{interval(low, high)}]"


def kappa_cell(kappa: float | None, low: float | None, high: float | None) -> str:
    """Cohen's kappa with its interval: ``0.74 [0.67 – 0.80]`` (missing -> ``–``)."""
    if kappa is None or low is None or high is None:
        return MISSING
    return f"{kappa:.2f} [{low:.2f} – {high:.2f}]"


def _of(k: int, n: int) -> str:
    return f"{k:,} of {n:,}"


def _metric(r: dict[str, Any]) -> str:
    return str(r["metric_name"] or f"metric {r['metric_id']}")


def _where(r: dict[str, Any]) -> dict[str, str]:
    """The key columns beside the metric or agent, as text (version, week)."""
    out = {}
    if "agent_version" in r:
        out["agent"] = str(r["agent_id"])
        out["version"] = str(r["agent_version"] or "(none)")
    if "week" in r:
        out["week"] = str(r["week"])
    return out


def readable(df: pl.DataFrame) -> pl.DataFrame:
    """The table view of a :func:`~cekura_analytics.flaky` or
    :func:`~cekura_analytics.review_agreement` frame: each rate with its interval and counts
    in one cell, the columns a person reads first (csv / json / parquet keep every column)."""
    rows: list[dict[str, str]] = []
    for r in df.iter_rows(named=True):
        if "is_flaky" in r:
            rows.append(
                {
                    "metric": _metric(r),
                    "scenario": str(r["scenario_name"] or f"scenario {r['scenario_id']}"),
                    **_where(r),
                    "passed": _of(r["n_passed"], r["n_runs"]),
                    "flaky": "yes" if r["is_flaky"] else "no",
                    "outcomes": r["outcomes"],
                    "failed run": str(r["example_failed_run_id"] or MISSING),
                }
            )
        elif "share_flaky" in r:
            rows.append(
                {
                    "metric": _metric(r),
                    **_where(r),
                    "cells (scenarios)": count(r["n_cells"], r["n_scenarios"]),
                    "runs/cell": f"{r['runs_per_cell']:.1f}",
                    "always passed": share_cell(*(r[c] for c in _cols("always_passed"))),
                    "flaky": share_cell(*(r[c] for c in _cols("flaky"))),
                    "always failed": share_cell(*(r[c] for c in _cols("always_failed"))),
                }
            )
        elif "overturn_rate" in r:
            rows.append(_review_row(r))
        elif "kappa" in r:
            rows.append(_agreement_row(r))
        else:
            raise DataError(f"no table view for columns {', '.join(df.columns)}")
    return pl.DataFrame(rows) if rows else df


def text_table(df: pl.DataFrame) -> dict[str, list[Any]]:
    """:func:`readable` as ``{"headers": [...], "rows": [[...], ...]}`` for a template, control
    characters shown as pictures (no rows: both empty)."""
    if df.is_empty():
        return {"headers": [], "rows": []}
    table = visible_frame(readable(df))
    return {"headers": table.columns, "rows": [list(r) for r in table.rows()]}


def _cols(kind: str) -> tuple[str, str, str]:
    return f"share_{kind}", f"{kind}_ci_low", f"{kind}_ci_high"


def _review_row(r: dict[str, Any]) -> dict[str, str]:
    """One metric's reviews: overturned, missed, the judge's and the corrected pass rate."""
    corrected = (
        share_cell(r["corrected_pass_rate"], r["corrected_ci_low"], r["corrected_ci_high"])
        if r["corrected_pass_rate"] is not None
        else f"{MISSING} ({r['correction_note']})"
    )
    return {
        "metric": _metric(r),
        **_where(r),
        "overturned": share_cell(r["overturn_rate"], r["overturn_ci_low"], r["overturn_ci_high"])
        + f" {_of(r['n_overturned'], r['n_reviewed_failed'])}",
        "missed (run level)": share_cell(r["missed_rate"], r["missed_ci_low"], r["missed_ci_high"])
        + f" {_of(r['n_missed'], r['n_reviewed_passed'])}",
        "judge pass rate": rate_cell(
            r["judge_pass_rate"], r["judge_ci_low"], r["judge_ci_high"], r["n_evaluated"]
        ),
        "corrected pass rate": corrected,
    }


def _agreement_row(r: dict[str, Any]) -> dict[str, str]:
    """One agent's 2 × 2: judge (rows) against reviewer (columns), agreement and kappa."""
    return {
        "agent": str(r["agent_name"] or f"agent {r['agent_id']}"),
        **({"version": str(r["agent_version"] or "(none)")} if "agent_version" in r else {}),
        "reviewed runs": count(r["n_reviewed"]),
        "both passed": count(r["n_both_passed"]),
        "judge passed, reviewer failed": count(r["n_judge_passed_reviewer_failed"]),
        "judge failed, reviewer passed": count(r["n_judge_failed_reviewer_passed"]),
        "both failed": count(r["n_both_failed"]),
        "agreement": share_cell(r["agreement_rate"], r["agreement_ci_low"], r["agreement_ci_high"]),
        "kappa": kappa_cell(r["kappa"], r["kappa_ci_low"], r["kappa_ci_high"]),
    }


def _failing_chart(exc: DataError) -> Callable[[], Any]:
    def make() -> Any:
        raise exc

    return make


def flaky_section(con: Any, *, since: Any = None, agent_id: Any = None) -> dict[str, Any]:
    """The report's "Flaky scenarios": per metric the stable-pass / flaky / stable-fail
    split, the flakiest cells with their outcome sequences and a failed run to look at, and
    the chart (``chart``: a callable, for the report's chart list)."""
    shares = flaky(con, "metric", since=since, agent_id=agent_id)
    cells = flaky(con, "scenario", since=since, agent_id=agent_id, flaky_only=True, limit=FLAKIEST)
    metrics = shares.sort(["share_flaky", "metric_id"], descending=[True, False])
    return {
        "n_cells": int(shares["n_cells"].sum()) if shares.height else 0,
        "n_flaky": int(shares["n_flaky"].sum()) if shares.height else 0,
        "metrics": text_table(metrics),
        "scenarios": text_table(cells),
        "chart": lambda: flaky_chart(shares),
    }


def trust_section(con: Any, *, since: Any = None, agent_id: Any = None) -> dict[str, Any]:
    """The report's "How far to trust each metric": per metric the overturn and missed rates
    and the corrected pass rate, per agent the judge-vs-reviewer agreement and kappa, the
    caveat, and the chart (``chart``: a callable, for the report's chart list)."""
    caveat = trust_caveat(MIN_REVIEWED)
    try:
        per_metric = review_agreement(con, "metric", since=since, agent_id=agent_id)
        agents = review_agreement(con, "agent", since=since, agent_id=agent_id)
    except DataError as exc:
        empty = text_table(pl.DataFrame())
        return {"metrics": empty, "agents": empty, "caveat": caveat, "empty": str(exc),
                "chart": _failing_chart(exc)}  # fmt: skip
    ordered = per_metric.sort(["overturn_rate", "metric_id"], descending=[True, False])
    return {
        "metrics": text_table(ordered),
        "agents": text_table(agents),
        "caveat": caveat,
        "empty": "",
        "chart": lambda: overturn_chart(per_metric),
    }


__all__ = [
    "FLAKIEST",
    "flaky_section",
    "kappa_cell",
    "readable",
    "share_cell",
    "text_table",
    "trust_caveat",
    "trust_section",
]
