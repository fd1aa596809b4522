"""Charts of flakiness and of trust in the judge.

- :func:`flaky_chart`: per metric, the split of its scenario cells into always passed,
  flaky and always failed (the frame of ``flaky(by="metric")``), intervals in the tooltip;
- :func:`overturn_chart`: per metric, the share of reviewed failures a reviewer overturned
  with its Wilson interval, beside the judge's pass rate and the corrected one (the frame of
  ``review_agreement(by="metric")``).
"""

from __future__ import annotations

import altair as alt
import polars as pl

from ..errors import DataError
from .text import interval, pct
from .theme import BAR_COLOR, INTERVAL_COLOR, need, themed

#: the three kinds of a cell, in stacking order, with their colours
KINDS = {
    "always_passed": ("always passed (pass^k)", "#54a24b"),
    "flaky": ("flaky: both outcomes", "#f58518"),
    "always_failed": ("always failed", "#e45756"),
}
_COUNTS = ("n_scenarios", "n_cells", "n_runs", "n_reviewed_failed", "n_overturned")


def _plain(df: pl.DataFrame, columns: tuple[str, ...], what: str) -> pl.DataFrame:
    """:func:`~.theme.need`, and counts as plain integers (DuckDB sums can be wide)."""
    df = need(df, columns, what)
    return df.with_columns(pl.col(c).cast(pl.Int64) for c in _COUNTS if c in df.columns)


def _metric_label(df: pl.DataFrame) -> pl.Expr:
    return pl.coalesce(
        pl.col("metric_name"), pl.lit("metric ") + pl.col("metric_id").cast(pl.String)
    )


def flaky_chart(shares: pl.DataFrame) -> alt.Chart:
    """Per metric, a bar split into the shares of its cells (scenario × agent version with
    repeats) that always passed, flipped and always failed; flakiest metric on top."""
    cols: tuple[str, ...] = ("metric_id", "metric_name", "n_cells", "n_scenarios")
    cols += ("runs_per_cell", "pass_rate")
    for k in KINDS:
        cols += (f"share_{k}", f"{k}_ci_low", f"{k}_ci_high", f"n_{k}")
    df = _plain(shares, cols, "flaky chart")
    if df.is_empty() or df["n_cells"].sum() == 0:
        raise DataError("flaky chart: no scenario ran at least twice on one agent version")
    df = df.with_columns(metric=_metric_label(df))
    order = df.sort(["share_flaky", "metric_id"], descending=[True, False])["metric"].to_list()
    rows = []
    for r in df.iter_rows(named=True):
        for rank, (kind, (label, _)) in enumerate(KINDS.items()):
            rows.append(
                {
                    "metric": r["metric"],
                    "kind": label,
                    "rank": rank,
                    "share": r[f"share_{kind}"],
                    "share_label": pct(r[f"share_{kind}"]),
                    "interval": interval(r[f"{kind}_ci_low"], r[f"{kind}_ci_high"]),
                    "cells": f"{r[f'n_{kind}']:,} of {r['n_cells']:,}"
                    f" ({r['n_scenarios']:,} scenarios)",
                    "runs_per_cell": round(float(r["runs_per_cell"]), 1),
                    "pass_rate": pct(r["pass_rate"]),
                }
            )
    data = pl.DataFrame(rows)
    labels = [label for label, _ in KINDS.values()]
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "share:Q",
                stack="zero",
                axis=alt.Axis(format="%"),
                title="share of cells",
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("metric:N", sort=order, title=None),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=labels, range=[c for _, c in KINDS.values()]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            order=alt.Order("rank:Q"),
            tooltip=[
                alt.Tooltip("metric:N", title="metric"),
                alt.Tooltip("kind:N", title="cells that"),
                alt.Tooltip("share_label:N", title="share"),
                alt.Tooltip("interval:N", title="95 % interval (scenario-clustered)"),
                alt.Tooltip("cells:N", title="cells"),
                alt.Tooltip("runs_per_cell:Q", title="runs per cell (k)"),
                alt.Tooltip("pass_rate:N", title="metric pass rate"),
            ],
        )
        .properties(
            width=460,
            height=alt.Step(24),
            title=alt.Title(
                "Flaky scenarios per metric",
                subtitle="scenario × agent version cells run at least twice: the same pass "
                "rate can be stable passes and failures, or every scenario flipping",
            ),
        )
    )
    return themed(chart)


def overturn_chart(reviews: pl.DataFrame) -> alt.HConcatChart:
    """Per metric: the share of reviewed failures a reviewer overturned (Wilson 95 %), and
    beside it the judge's pass rate and the corrected one with their intervals."""
    cols: tuple[str, ...] = ("metric_id", "metric_name", "n_reviewed_failed", "n_overturned")
    for rate in ("overturn_rate", "judge_pass_rate", "corrected_pass_rate"):
        stem = rate.removesuffix("_rate").removesuffix("_pass")
        cols += (rate, f"{stem}_ci_low", f"{stem}_ci_high")
    df = _plain(reviews, cols, "overturn chart").filter(pl.col("n_reviewed_failed") > 0)
    if df.is_empty():
        raise DataError("overturn chart: no reviewed failures in scope")
    df = df.with_columns(
        metric=_metric_label(df),
        rate_label=pl.Series([pct(v) for v in df["overturn_rate"]], dtype=pl.String),
        interval=pl.Series(
            [
                interval(lo, hi)
                for lo, hi in zip(df["overturn_ci_low"], df["overturn_ci_high"], strict=True)
            ],
            dtype=pl.String,
        ),
    )
    order = df.sort(["overturn_rate", "metric_id"], descending=[True, False])["metric"].to_list()
    y = alt.Y("metric:N", sort=order, title=None)
    tips = [
        alt.Tooltip("metric:N", title="metric"),
        alt.Tooltip("rate_label:N", title="overturned"),
        alt.Tooltip("interval:N", title="95 % interval (Wilson)"),
        alt.Tooltip("n_overturned:Q", title="failures overturned"),
        alt.Tooltip("n_reviewed_failed:Q", title="reviewed failures"),
    ]
    base = alt.Chart(df).encode(y=y, tooltip=tips)
    overturn = alt.layer(
        base.mark_rule(color=INTERVAL_COLOR).encode(
            x=alt.X(
                "overturn_ci_low:Q", axis=alt.Axis(format="%"), title="reviewed failures overturned"
            ),
            x2="overturn_ci_high:Q",
        ),
        base.mark_point(filled=True, size=70, color="#e45756").encode(x="overturn_rate:Q"),
    ).properties(width=300, height=alt.Step(24))
    rates = []
    for which, label in (("judge", "judge"), ("corrected", "corrected by the reviews")):
        part = df.select(
            "metric",
            rate=pl.col(f"{which}_pass_rate"),
            low=pl.col(f"{which}_ci_low"),
            high=pl.col(f"{which}_ci_high"),
        ).with_columns(kind=pl.lit(label))
        rates.append(part.filter(pl.col("rate").is_not_null()))
    both = pl.concat(rates)
    both = both.with_columns(
        rate_label=pl.Series([pct(v) for v in both["rate"]], dtype=pl.String),
        interval=pl.Series(
            [interval(lo, hi) for lo, hi in zip(both["low"], both["high"], strict=True)],
            dtype=pl.String,
        ),
    )
    color = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=["judge", "corrected by the reviews"], range=["#9e9e9e", BAR_COLOR]),
        legend=alt.Legend(orient="bottom", title="pass rate"),
    )
    offset = alt.YOffset("kind:N", sort=["judge", "corrected by the reviews"])
    rate_tips = [
        alt.Tooltip("metric:N", title="metric"),
        alt.Tooltip("kind:N", title="pass rate"),
        alt.Tooltip("rate_label:N", title="rate"),
        alt.Tooltip("interval:N", title="95 % interval"),
    ]
    rb = alt.Chart(both).encode(y=y, yOffset=offset, color=color, tooltip=rate_tips)
    corrected = alt.layer(
        rb.mark_rule().encode(
            x=alt.X(
                "low:Q", axis=alt.Axis(format="%"), title="pass rate", scale=alt.Scale(zero=False)
            ),
            x2="high:Q",
        ),
        rb.mark_point(filled=True, size=60).encode(x="rate:Q"),
    ).properties(width=300, height=alt.Step(24, **{"for": "position"}))
    chart = alt.hconcat(overturn, corrected, spacing=24).properties(
        title=alt.Title(
            "How far to trust each metric",
            subtitle="failures a reviewer overturned, and the pass rate corrected by the "
            "overturn and missed rates (where enough results were reviewed)",
        )
    )
    return themed(chart)


__all__ = ["KINDS", "flaky_chart", "overturn_chart"]
