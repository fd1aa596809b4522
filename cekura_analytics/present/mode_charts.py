"""The failure-modes chart: per failing metric, its modes as ranked bars and their weekly trend.

Takes the ``failure_modes`` and ``failure_modes_weekly`` views as frames (or a data dir, read
through :mod:`.views`); the share's Wilson 95 % interval and n are in the bars' tooltip.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import altair as alt
import polars as pl

from ..analysis.modes import modes_view, modes_weekly
from ..analysis.rates import last_day
from ..errors import DataError
from .text import chart_title
from .theme import need, themed


def failure_mode_chart(
    modes: pl.DataFrame | str | Path,
    weekly: pl.DataFrame | None = None,
    *,
    top: int = 5,
    metrics: int = 6,
    through: dt.date | None = None,
) -> alt.VConcatChart:
    """One row per failing metric (the ``metrics`` with most failures): its ``top`` modes
    ranked by failed results, and beside them each mode's failed results per week.

    ``through``: the last day with data (from a data dir: its last run's day); a last week
    that ends after it counted only some of its days, so its points are hollow and joined by
    a dashed line: a half-counted week must not read as a fix.
    """
    if not isinstance(modes, pl.DataFrame):
        data_dir = modes
        modes, weekly = modes_view(data_dir), modes_weekly(data_dir)
        through = last_day(data_dir) if through is None else through
    cols = ("mode_id", "metric_id", "metric_name", "label", "n_failed", "mode_rank")
    df = need(modes, cols, "failure modes").filter(
        (pl.col("n_failed") > 0) & (pl.col("mode_rank") <= top)
    )
    if df.is_empty():
        raise DataError("failure modes: none yet (run `cekura-analytics failure-modes`)")
    order = (
        df.group_by("metric_id")
        .agg(pl.col("n_failed").sum())
        .sort(["n_failed", "metric_id"], descending=[True, False])
        .head(metrics)["metric_id"]
        .to_list()
    )
    weeks = weekly if weekly is not None else pl.DataFrame(schema={"mode_id": pl.String})
    weeks, partial = _partial_week(weeks, through)
    rows = []
    for mid in order:
        part = df.filter(pl.col("metric_id") == mid).sort("mode_rank")
        name = chart_title(part["metric_name"][0] or f"metric {mid}")
        labels = part["label"].to_list()
        bars = (
            alt.Chart(part)
            .mark_bar(color="#e45756")
            .encode(
                x=alt.X("n_failed:Q", title="failed results"),
                y=alt.Y("label:N", sort=labels, title=None),
                tooltip=_tips(part),
            )
            .properties(width=260, height=alt.Step(22), title=name)
        )
        trend = weeks.filter(pl.col("mode_id").is_in(part["mode_id"].implode()))
        if "week_start" in trend.columns and trend.height:
            trend = trend.join(part.select("mode_id", "label"), on="mode_id")
            x = alt.X("week_start:T", title="week")
            y = alt.Y("n_failed:Q", title="failed / week")
            color = alt.Color("label:N", sort=labels, title=f"{name}: mode")
            base = alt.Chart().encode(x=x, y=y, color=color)
            line = (
                alt.layer(
                    base.transform_filter("!datum.partial").mark_line(),
                    base.transform_filter("datum.tail").mark_line(strokeDash=[3, 3]),
                    base.mark_point(filled=True, opacity=1).encode(
                        fill=alt.condition("datum.partial", alt.value("white"), color),
                        tooltip=[
                            alt.Tooltip("label:N", title="mode"),
                            alt.Tooltip("week_start:T", title="week of", format="%Y-%m-%d"),
                            alt.Tooltip("n_failed:Q", title="failed"),
                            alt.Tooltip("partial:N", title="partial week"),
                        ],
                    ),
                    data=trend,
                )
            ).properties(width=360, height=max(80, 22 * len(labels)))
            rows.append(alt.hconcat(bars, line, spacing=16))
        else:
            rows.append(alt.hconcat(bars))
    chart = alt.vconcat(*rows, spacing=18).resolve_scale(color="independent")
    chart = chart.properties(
        title=alt.Title(
            "Failure modes",
            subtitle="how each metric fails: modes by failed results, and per week"
            + (f" · hollow: the last week, partial (data through {through})" if partial else ""),
        )
    )
    return themed(chart)


def _partial_week(weeks: pl.DataFrame, through: dt.date | None) -> tuple[pl.DataFrame, bool]:
    """``weeks`` with ``partial`` (the last week, when it ends after ``through``) and ``tail``
    (that week and the one before: the dashed segment); and whether the last week is partial."""
    if "week_start" not in weeks.columns or weeks.is_empty():
        return weeks.with_columns(partial=pl.lit(False), tail=pl.lit(False)), False
    weeks = weeks.with_columns(pl.col("week_start").cast(pl.Date))
    last = weeks["week_start"].max()
    partial = (
        through is not None and isinstance(last, dt.date) and last + dt.timedelta(days=6) > through
    )
    previous = weeks.filter(pl.col("week_start") < last)["week_start"].max() if partial else None
    return weeks.with_columns(
        partial=pl.lit(partial) & (pl.col("week_start") == last),
        tail=pl.lit(partial) & (pl.col("week_start") >= (previous or last)),
    ), partial


def _tips(part: pl.DataFrame) -> list[alt.Tooltip]:
    tips = [alt.Tooltip("label:N", title="mode"), alt.Tooltip("n_failed:Q", title="failed")]
    if "share" in part.columns:
        tips += [
            alt.Tooltip("share:Q", title="share of the metric's failures", format=".1%"),
            alt.Tooltip("share_ci_low:Q", title="95 % low", format=".1%"),
            alt.Tooltip("share_ci_high:Q", title="95 % high", format=".1%"),
            alt.Tooltip("n_metric_failed:Q", title="metric's failed results"),
        ]
    return tips
