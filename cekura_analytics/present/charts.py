"""Altair charts of pass rates, trends, version changes, durations and outlier runs.

Each chart function takes a polars DataFrame shaped like the matching view (or the data dir,
in which case it asks :mod:`.analysis` for the frame) and returns an ``alt.Chart``; nothing is
displayed. All charts share one theme (:data:`THEME`, applied as the chart's config) and carry
tooltips with the sample size and the Wilson 95 % interval: a rate without its n misleads.

Save a chart offline (vl-convert, no browser, no network) with :func:`save_chart`. In a notebook
call :func:`use_notebook_renderer` once so charts render without fetching JavaScript.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl

from ..analysis.outlier_runs import outliers
from ..analysis.rates import pass_rates, run_durations, version_changes
from ..errors import DataError
from .mode_charts import failure_mode_chart
from .text import chart_title, pct, pct_expr, rate_text_expr
from .theme import (
    BAR_COLOR,
    INTERVAL_COLOR,
    OUTCOME_COLORS,
    THEME,
    VERDICT_COLORS,
    centred_rate_scale,
    need,
    nice_step,
    rate_tooltips,
    save_chart,
    themed,
    unthemed,
    use_notebook_renderer,
    version_rules,
    with_labels,
    zoomed_scale,
)

Source = pl.DataFrame | str | Path
#: the rate columns a chart needs (the views carry more: n_scenarios, design_effect)
RATES = ("n_evaluated", "n_passed", "pass_rate", "ci_low", "ci_high")


def _rates(data: Source, by: tuple[str, ...], since: Any = None, agent_id: Any = None) -> Any:
    """The frame itself, or the pass-rate view ``by`` read from a data dir."""
    if isinstance(data, pl.DataFrame):
        return data
    return pass_rates(data, by=by, since=since, agent_id=agent_id)


def pass_rate_by_metric(
    data: Source, *, since: Any = None, agent_id: Any = None, title: str | None = None
) -> alt.LayerChart:
    """Pass rate per metric, worst first: a dot and its 95 % interval (clustered by scenario)
    on an axis zoomed to the data (the subtitle says so), with runs (scenarios) beside it."""
    df = need(_rates(data, ("metric",), since, agent_id), ("metric_name", *RATES), "bars")
    df = with_labels(df.filter(pl.col("n_evaluated") > 0)).sort("pass_rate")
    if df.is_empty():
        raise DataError("pass rate by metric: no metric has an evaluated result")
    scenarios = df["n_scenarios"] if "n_scenarios" in df.columns else None
    df = df.with_columns(
        n_label=pl.col("n_evaluated").map_elements(lambda n: f"{n:,}", return_dtype=pl.String)
        + (pl.lit(" (") + pl.col("n_scenarios").cast(pl.String) + ")" if scenarios is not None
           else pl.lit(""))
    )  # fmt: skip
    scale = zoomed_scale(float(df["ci_low"].min() or 0.0), float(df["ci_high"].max() or 1.0))  # type: ignore[arg-type]
    y = alt.Y("metric_name:N", sort=df["metric_name"].to_list(), title=None)
    tips = rate_tooltips(("metric_name", "metric"))
    base = alt.Chart(df).encode(y=y, tooltip=tips)
    x = alt.X("pass_rate:Q", title="pass rate", axis=alt.Axis(format="%"), scale=scale)
    errs = base.mark_rule(color=INTERVAL_COLOR, strokeWidth=2).encode(
        x=alt.X("ci_low:Q", scale=scale, title="pass rate"), x2="ci_high:Q"
    )
    dots = base.mark_point(filled=True, size=70, color=BAR_COLOR, opacity=1).encode(x=x)
    n_text = base.mark_text(align="left", dx=6, fontSize=10, color="#555555").encode(
        x=alt.X("ci_high:Q", scale=scale), text="n_label:N"
    )
    zoom = " · axis zoomed to the data" if scale.zero is False else ""
    chart = alt.layer(errs, dots, n_text).properties(
        height=alt.Step(22),
        title=alt.Title(
            title or "Pass rate per metric",
            subtitle="dot: pass rate · line: 95 % interval, clustered by scenario · number: "
            f"runs (scenarios){zoom}",
        ),
    )
    return themed(chart)


def heatmap(
    data: pl.DataFrame,
    *,
    column: str,
    column_title: str,
    min_n: int = 10,
    title: str | None = None,
) -> alt.LayerChart:
    """Metric (rows) × ``column`` heatmap: colour and text = pass rate (n in the tooltip),
    faded and dashed when n < min_n."""
    df = need(data, ("metric_name", column, *RATES), "heatmap")
    df = df.with_columns(pl.col(column).cast(pl.String).fill_null("(none)"))
    df = with_labels(df.filter(pl.col("n_evaluated") > 0), min_n)
    if df.is_empty():
        raise DataError(f"heatmap by {column_title}: no cell has an evaluated result")
    # Worst rows and columns first, so the eye lands on the failures.
    order = lambda c: (  # noqa: E731
        df.group_by(c)
        .agg((pl.col("n_passed").sum() / pl.col("n_evaluated").sum()).alias("r"))
        .sort("r")[c]
        .to_list()
    )
    tips = rate_tooltips(("metric_name", "metric"), (column, column_title))
    base = alt.Chart(df).encode(
        x=alt.X(
            f"{column}:N", sort=order(column), title=column_title, axis=alt.Axis(labelAngle=-40)
        ),
        y=alt.Y("metric_name:N", sort=order("metric_name"), title=None),
        tooltip=tips,
    )
    scale, low, overall, high = centred_rate_scale(df)
    legend = alt.Legend(format=".0%", values=sorted({low, overall, high}))
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("pass_rate:Q", scale=scale, title="pass rate", legend=legend),
        opacity=alt.condition("datum.few", alt.value(0.3), alt.value(1.0)),
    )
    # Few-results cells get a dashed outline on top of the fading, visible in print too.
    few = base.transform_filter("datum.few").mark_rect(
        fill=None, stroke="#555555", strokeDash=[3, 2], strokeWidth=1
    )
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("pass_rate:Q", format=".0%"),
        # white on the dark ends of the scale (the outer fifth on either side of the centre)
        color=alt.condition(
            f"!datum.few && (datum.pass_rate < {low + 0.2 * (overall - low)!r}"
            f" || datum.pass_rate > {high - 0.2 * (high - overall)!r})",
            alt.value("white"),
            alt.value("#222222"),
        ),
    )
    chart = alt.layer(rect, few, text).properties(
        width=alt.Step(46),
        height=alt.Step(24),
        title=alt.Title(
            title or f"Pass rate: metric × {column_title}",
            subtitle=[
                f"colour: pass rate, yellow = overall {pct(overall)}, red below, green above;"
                f" the scale spans only the cells' range {pct(low)} – {pct(high)}",
                f"number: pass rate (n and the 95 % interval in the tooltip) · faded, dashed: "
                f"n < {min_n}",
            ],
        ),
    )
    return themed(chart)


def metric_personality_heatmap(
    data: Source, *, since: Any = None, agent_id: Any = None, min_n: int = 10
) -> alt.LayerChart:
    """Metric × personality heatmap (view ``pass_rates_by_metric_personality``)."""
    df = _rates(data, ("metric", "personality"), since, agent_id)
    return heatmap(df, column="personality_name", column_title="personality", min_n=min_n)


def metric_language_heatmap(
    data: Source, *, since: Any = None, agent_id: Any = None, min_n: int = 10
) -> alt.LayerChart:
    """Metric × scenario language heatmap (view ``pass_rates_by_metric_language``)."""
    df = _rates(data, ("metric", "language"), since, agent_id)
    return heatmap(df, column="scenario_language", column_title="language", min_n=min_n)


def trend(
    data: Source,
    *,
    freq: str = "day",
    versions: pl.DataFrame | None = None,
    metrics: Sequence[str] | None = None,
    since: Any = None,
    agent_id: Any = None,
    columns: int = 2,
    through: dt.date | None = None,
    subtitle: str = "",
) -> alt.FacetChart:
    """Pass rate over time per metric (one panel each), the interval as a band, version
    changes as dashed rules labelled with the version; ``freq`` is ``"day"`` or ``"week"``: the
    frame's time column (a ``pass_rates`` frame by ``day`` or ``week`` and ``metric``).

    ``through``: the last day with data; a last week that ends after it is partial, drawn
    hollow and joined by a dashed line, so a half-counted week does not read as a change.
    """
    if freq not in ("day", "week"):
        raise DataError(f"trend: freq must be 'day' or 'week', not {freq!r}")
    df = _rates(data, (freq, "metric"), since, agent_id)
    df = need(df, (freq, "metric_name", *RATES), "trend").rename(
        {freq: "day"} if freq != "day" else {}
    )
    if versions is None and not isinstance(data, pl.DataFrame):
        versions = version_changes(data, agent_id=agent_id)
    if metrics is not None:
        df = df.filter(pl.col("metric_name").is_in(list(metrics)))
    df = with_labels(df.filter(pl.col("n_evaluated") > 0))
    if df.is_empty():
        raise DataError("trend: no day has an evaluated result")
    df = df.select(
        pl.col("day").cast(pl.Date), "metric_name", *RATES, "rate_label", "interval"
    ).with_columns(kind=pl.lit("rate"), agent_version=pl.lit(None, pl.String))
    last = df["day"].max()
    partial = (
        freq == "week"
        and through is not None
        and isinstance(last, dt.date)
        and last + dt.timedelta(days=6) > through
    )
    previous = df.filter(pl.col("day") < last)["day"].max() if partial else None
    df = df.with_columns(
        partial=pl.lit(partial) & (pl.col("day") == last),
        tail=pl.lit(partial) & (pl.col("day") >= (previous or last)),
    )
    rules = version_rules(versions, df)
    df = pl.concat([df, rules], how="diagonal_relaxed")
    x = alt.X("day:T", title=None, axis=alt.Axis(format="%b %d", labelAngle=0))
    y_scale = alt.Scale(domain=[0, 1])
    rate = alt.Chart().transform_filter("datum.kind === 'rate'")
    band = rate.mark_area(opacity=0.2, color=BAR_COLOR).encode(
        x=x,
        y=alt.Y("ci_low:Q", scale=y_scale, title="pass rate", axis=alt.Axis(format="%")),
        y2="ci_high:Q",
    )
    line = (
        rate.transform_filter("!datum.partial")
        .mark_line(color=BAR_COLOR, strokeWidth=1.8)
        .encode(x=x, y="pass_rate:Q")
    )
    tail = (
        rate.transform_filter("datum.tail")
        .mark_line(color=BAR_COLOR, strokeWidth=1.2, strokeDash=[3, 3])
        .encode(x=x, y="pass_rate:Q")
    )
    dots = rate.mark_point(color=BAR_COLOR, size=26, filled=True, opacity=1).encode(
        x=x,
        y="pass_rate:Q",
        fill=alt.condition("datum.partial", alt.value("white"), alt.value(BAR_COLOR)),
        tooltip=[
            alt.Tooltip(
                "day:T", title=f"{freq} of" if freq == "week" else "day", format="%Y-%m-%d"
            ),
            *rate_tooltips(("metric_name", "metric")),
            alt.Tooltip("partial:N", title="partial week"),
        ],
    )
    vers = alt.Chart().transform_filter("datum.kind === 'version'")
    rule = vers.mark_rule(color="#d62728", strokeDash=[4, 3]).encode(
        x=x,
        tooltip=[
            alt.Tooltip("agent_version:N", title="agent version from"),
            alt.Tooltip("day:T", format="%Y-%m-%d"),
        ],
    )
    label = vers.mark_text(
        align="left", baseline="top", dx=3, dy=2, fontSize=9, color="#d62728"
    ).encode(x=x, y=alt.value(0), text="agent_version:N")
    # Labels only while they stay legible; the rule's tooltip always names the version.
    layers = [band, line, tail, dots, rule] + ([label] if 0 < rules["day"].n_unique() <= 8 else [])
    chart = (
        alt.layer(*layers, data=df)
        .properties(width=300, height=140)
        .facet(facet=alt.Facet("metric_name:N", title=None), columns=columns)
        .properties(
            title=alt.Title(
                f"{'Daily' if freq == 'day' else 'Weekly'} pass rate per metric",
                subtitle=" · ".join(
                    part
                    for part in (
                        subtitle,
                        "line: pass rate · band: 95 % interval, clustered by scenario · red "
                        "dashes: a new version",
                        f"hollow: the last week, partial (data through {through})"
                        if partial
                        else "",
                    )
                    if part
                ),
            )
        )
    )
    return themed(chart)


def version_comparison(data: pl.DataFrame) -> alt.LayerChart:
    """Each metric of the baseline (hollow) and the candidate (filled) with their clustered 95 %
    intervals and n, coloured by the comparison's verdict (worse / better / no difference /
    insufficient); "✗ gate" marks the cells that fail the release gate. ``data`` is a
    :func:`~cekura_analytics.analysis.versions.compare_versions` frame: the chart draws its
    verdicts and computes none."""
    cols = ("metric_name", "rate_baseline", "rate_candidate", "n_baseline", "n_candidate",
            "verdict", "fails_gate", "baseline", "candidate")  # fmt: skip
    df = need(data, cols, "versions")
    df = df.filter(pl.col("rate_baseline").is_not_null() & pl.col("rate_candidate").is_not_null())
    if df.is_empty():
        raise DataError("version comparison: no metric was evaluated in both versions")
    a, b = chart_title(df["baseline"][0]), chart_title(df["candidate"][0])
    agent = f"Agent {df['agent_id'][0]}: " if "agent_id" in df.columns else ""
    cell = pl.col("metric_name")
    if "dimension_value" in df.columns and df["dimension_value"].is_not_null().any():
        cell = cell + " [" + pl.col("dimension_value").fill_null("") + "]"
    df = df.with_columns(
        cell=cell,
        label_a=rate_text_expr("rate_baseline", "ci_low_baseline", "ci_high_baseline",
                               "n_baseline", "n_scenarios_baseline"),
        label_b=rate_text_expr("rate_candidate", "ci_low_candidate", "ci_high_candidate",
                               "n_candidate", "n_scenarios_candidate"),
        label_change=pct_expr("change").str.replace(" %", " pts"),
        gate=pl.when(pl.col("fails_gate")).then(pl.lit("fails the gate")).otherwise(pl.lit("")),
        gate_x=pl.max_horizontal("ci_high_baseline", "ci_high_candidate", "rate_candidate"),
    )  # fmt: skip
    order = df.sort("change", nulls_last=True)["cell"].to_list()
    color = alt.Color(
        "verdict:N",
        scale=alt.Scale(domain=list(VERDICT_COLORS), range=list(VERDICT_COLORS.values())),
        title=f"{a} → {b}",
    )
    tips = [
        alt.Tooltip("cell:N", title="metric"),
        alt.Tooltip("label_a:N", title="baseline"),
        alt.Tooltip("label_b:N", title="candidate"),
        alt.Tooltip("label_change:N", title="change, scenario by scenario"),
        alt.Tooltip("verdict:N", title="verdict"),
        alt.Tooltip("reason:N", title="why"),
        alt.Tooltip("gate:N", title="release gate"),
        alt.Tooltip("flaky_share:Q", title="share of the drop in flaky scenarios", format=".0%"),
    ]
    bounds = df.select(
        lo=pl.min_horizontal(pl.col("ci_low_baseline").min(), pl.col("ci_low_candidate").min()),
        hi=pl.max_horizontal(pl.col("ci_high_baseline").max(), pl.col("ci_high_candidate").max()),
    ).row(0)
    scale = zoomed_scale(bounds[0] or 0.0, bounds[1] or 1.0)
    y = alt.Y("cell:N", sort=order, title=None)
    base = alt.Chart(df).encode(y=y, tooltip=tips)
    x_a = alt.X("rate_baseline:Q", title="pass rate", axis=alt.Axis(format="%"), scale=scale)
    ci_a = base.mark_rule(color="#999999", strokeWidth=5, opacity=0.5, yOffset=-4).encode(
        x=alt.X("ci_low_baseline:Q", scale=scale), x2="ci_high_baseline:Q"
    )
    ci_b = base.mark_rule(strokeWidth=2, yOffset=4).encode(
        x=alt.X("ci_low_candidate:Q", scale=scale), x2="ci_high_candidate:Q", color=color
    )
    pa = base.mark_point(filled=False, size=60, color="#666666", yOffset=-4).encode(x=x_a)
    pb = base.mark_point(filled=True, size=70, opacity=1, yOffset=4).encode(
        x=alt.X("rate_candidate:Q", scale=scale), color=color
    )
    gate = (
        base.transform_filter("datum.gate != ''")
        .mark_text(align="left", dx=9, fontWeight="bold", color=VERDICT_COLORS["worse"])
        .encode(x=alt.X("gate_x:Q", scale=scale), text=alt.value("✗ gate"))
    )
    subtitle = (
        f"hollow: {a} · filled: {b} · bars: 95 % intervals clustered by scenario · colour: "
        "the verdict, scenario by scenario with Holm's correction · ✗ gate: fails the gate"
    )
    if scale.zero is False:
        subtitle += " · axis zoomed to the data"
    chart = alt.layer(ci_a, ci_b, pa, pb, gate).properties(
        height=alt.Step(24), title=alt.Title(f"{agent}version {a} → {b}", subtitle=subtitle)
    )
    return themed(chart)


def duration_distribution(
    data: Source, *, bins: int = 40, since: Any = None, agent_id: Any = None
) -> alt.LayerChart:
    """Histogram of run durations stacked by outcome, binned in polars (keeps the spec small);
    the slowest 0.5 % go into the last bin so one stuck run does not flatten the rest."""
    df = (
        data
        if isinstance(data, pl.DataFrame)
        else run_durations(data, since=since, agent_id=agent_id)
    )
    df = need(df, ("duration_s",), "durations").filter(pl.col("duration_s").is_not_null())
    if df.is_empty():
        raise DataError("duration distribution: no run has a duration")
    outcome = (
        pl.when(pl.col("success"))
        .then(pl.lit("success"))
        .when(~pl.col("success"))
        .then(pl.lit("failure"))
        .otherwise(pl.lit("unknown"))
        if "success" in df.columns
        else pl.lit("all runs")
    )
    cap = max(float(df.select(pl.col("duration_s").quantile(0.995)).item() or 0.0), 1.0)
    step = nice_step(cap / bins)
    binned = (
        df.select(
            start=(pl.col("duration_s").clip(0, cap) / step).floor() * step,
            outcome=outcome,
        )
        .group_by("start", "outcome")
        .len("runs")
        .with_columns(end=pl.col("start") + step)
    )
    present = [o for o in OUTCOME_COLORS if o in set(binned["outcome"].to_list())]
    median = float(df.select(pl.col("duration_s").median()).item() or 0.0)
    bars = (
        alt.Chart(binned)
        .mark_bar(opacity=0.9)
        .encode(
            x=alt.X("start:Q", title="duration (s)", bin="binned"),
            x2="end:Q",
            y=alt.Y("runs:Q", stack=True, title="runs"),
            color=alt.Color(
                "outcome:N",
                scale=alt.Scale(domain=present, range=[OUTCOME_COLORS[o] for o in present]),
                title="run outcome",
            ),
            tooltip=[
                alt.Tooltip("start:Q", title="from (s)"),
                alt.Tooltip("end:Q", title="to (s)"),
                alt.Tooltip("outcome:N"),
                alt.Tooltip("runs:Q", title="n runs", format=","),
            ],
        )
    )
    rule = (
        alt.Chart(pl.DataFrame({"median": [median]}))
        .mark_rule(strokeDash=[4, 3])
        .encode(x="median:Q", tooltip=[alt.Tooltip("median:Q", title="median (s)")])
    )
    chart = alt.layer(bars, rule).properties(
        title=alt.Title(
            "Run duration",
            subtitle=f"{df.height:,} runs, median {median:.0f} s (dashed) · last bin: ≥{cap:.0f} s",
        )
    )
    return themed(chart)


def outlier_table(data: Source, *, limit: int = 20) -> alt.HConcatChart:
    """Outlier runs ranked by score: a bar per run and, beside it, the first reason; every
    reason and failed metric in the tooltip."""
    df = data if isinstance(data, pl.DataFrame) else outliers(data, limit=limit)
    df = need(df, ("run_id", "outlier_score", "reasons"), "outliers").head(limit)
    if df.is_empty():
        raise DataError("outlier runs: none found")
    joined = lambda c: pl.col(c).cast(pl.List(pl.String)).list.join("; ")  # noqa: E731
    df = df.select(
        run=pl.lit("run ") + pl.col("run_id").cast(pl.String),
        score=pl.col("outlier_score"),
        first_reason=pl.col("reasons").cast(pl.List(pl.String)).list.first().str.slice(0, 90),
        reasons=joined("reasons"),
        failed=joined("failed_metrics") if "failed_metrics" in df.columns else pl.lit(""),
    ).sort("score", descending=True)
    y = alt.Y("run:N", sort=df["run"].to_list(), title=None)
    tips = [
        alt.Tooltip("run:N"),
        alt.Tooltip("score:Q", title="outlier score", format=".2f"),
        alt.Tooltip("failed:N", title="failed metrics"),
        alt.Tooltip("reasons:N", title="reasons"),
    ]
    base = alt.Chart(df).encode(y=y, tooltip=tips)
    bars = base.mark_bar(color="#e45756").encode(x=alt.X("score:Q", title="outlier score"))
    text = base.mark_text(align="left", fontSize=10, color="#333333", limit=560).encode(
        x=alt.value(0), text="first_reason:N"
    )
    rows = alt.Step(20)
    chart = alt.hconcat(
        bars.properties(width=180, height=rows),
        text.properties(width=560, height=rows).encode(
            y=alt.Y("run:N", sort=df["run"].to_list(), axis=None)
        ),
        spacing=8,
    ).properties(
        title=alt.Title(
            "Outlier runs",
            subtitle="ranked by outlier score · first reason shown, all in the tooltip",
        )
    )
    return themed(chart)


__all__ = [
    "THEME",
    "duration_distribution",
    "failure_mode_chart",
    "heatmap",
    "metric_language_heatmap",
    "metric_personality_heatmap",
    "outlier_table",
    "pass_rate_by_metric",
    "save_chart",
    "trend",
    "unthemed",
    "use_notebook_renderer",
    "version_comparison",
]
