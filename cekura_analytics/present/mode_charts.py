"""The failure-modes chart: per failing metric, its modes as ranked bars and their weekly trend.

Takes the ``failure_modes`` and ``failure_modes_weekly`` views as frames (or a data dir, read
through :mod:`.views`); the share's Wilson 95 % interval and n are in the bars' tooltip.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl

from ..analysis.modes import modes_view, modes_weekly
from ..errors import DataError
from .text import chart_title
from .theme import need, themed


def failure_mode_chart(
    modes: pl.DataFrame | str | Path,
    weekly: pl.DataFrame | None = None,
    *,
    top: int = 5,
    metrics: int = 6,
) -> alt.VConcatChart:
    """One row per failing metric (the ``metrics`` with most failures): its ``top`` modes
    ranked by failed results, and beside them each mode's failed results per week."""
    if not isinstance(modes, pl.DataFrame):
        data_dir = modes
        modes, weekly = modes_view(data_dir), modes_weekly(data_dir)
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
            line = (
                alt.Chart(trend)
                .mark_line(point=True)
                .encode(
                    x=alt.X("week_start:T", title="week"),
                    y=alt.Y("n_failed:Q", title="failed / week"),
                    color=alt.Color("label:N", sort=labels, title=f"{name}: mode"),
                    tooltip=["label:N", "week_start:T", "n_failed:Q"],
                )
                .properties(width=360, height=max(80, 22 * len(labels)))
            )
            rows.append(alt.hconcat(bars, line, spacing=16))
        else:
            rows.append(alt.hconcat(bars))
    chart = alt.vconcat(*rows, spacing=18).resolve_scale(color="independent")
    chart = chart.properties(
        title=alt.Title(
            "Failure modes",
            subtitle="how each metric fails: modes by failed results, and per week",
        )
    )
    return themed(chart)


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
