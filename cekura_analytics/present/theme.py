"""The look and plumbing shared by :mod:`cekura_analytics.charts`: one theme, the Wilson
interval as polars expressions, tooltip labels, offline export, the notebook renderer."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl

from ..errors import DataError
from .text import pct_expr, visible_expr, visible_frame

BAR_COLOR = "#4c78a8"
INTERVAL_COLOR = "#333333"
COLORS = {"regression": "#d62728", "improvement": "#2ca02c", "no significant change": "#9e9e9e"}
#: the comparison's verdicts (analysis.stats), as the version chart colours them
VERDICT_COLORS = {
    "worse": "#d62728",
    "better": "#2ca02c",
    "no difference": "#7f7f7f",
    "insufficient": "#c7c7c7",
}
FONT = "Liberation Sans, Helvetica, Arial, sans-serif"
OUTCOME_COLORS = {"success": "#54a24b", "failure": "#e45756", "unknown": "#bab0ac"}
OUTCOME_COLORS["all runs"] = BAR_COLOR

THEME: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": None, "continuousWidth": 460, "continuousHeight": 260},
    "axis": {
        "labelFontSize": 11,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "gridColor": "#ececec",
        "domainColor": "#888888",
        "tickColor": "#888888",
        "labelLimit": 240,
    },
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal"},
    "header": {"labelFontSize": 12, "titleFontSize": 12},
    "title": {
        "fontSize": 15,
        "anchor": "start",
        "fontWeight": "bold",
        "subtitleColor": "#666666",
        "subtitleFontSize": 11,
        "offset": 10,
    },
    "range": {"category": {"scheme": "tableau10"}},
}


@alt.theme.register("cekura", enable=False)
def _cekura_theme() -> alt.theme.ThemeConfig:
    """The same look for charts you compose yourself: ``alt.theme.enable("cekura")``."""
    return {"config": THEME}  # type: ignore[typeddict-item]


def themed(chart: Any) -> Any:
    """Apply the theme as the chart's own config so it looks the same wherever it renders."""
    return chart.configure(**THEME)


def unthemed(chart: Any) -> Any:
    """A copy without the theme config, for layering or concatenating charts of this module."""
    bare = chart.copy(deep=False)
    bare.config = alt.Undefined
    return bare


def need(df: pl.DataFrame, columns: Sequence[str], what: str) -> pl.DataFrame:
    """``df`` ready for a chart: text made :func:`~.text.visible` (names come from the API),
    count and rate columns as plain numbers; a DataError names missing columns."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{what}: the frame lacks column(s) {', '.join(missing)}")
    # DuckDB sums arrive as Decimal, which JSON (the chart spec) cannot carry: plain numbers.
    counts = ("n_evaluated", "n_passed", "n_unknown", "n_scenarios", "n_baseline", "n_candidate")
    casts: dict[str, Any] = dict.fromkeys(counts, pl.Int64)
    casts |= dict.fromkeys(
        ("pass_rate", "ci_low", "ci_high", "design_effect", "change"), pl.Float64
    )
    casts |= dict.fromkeys(("outlier_score",), pl.Float64)
    df = visible_frame(df)
    return df.with_columns(pl.col(c).cast(t) for c, t in casts.items() if c in df.columns)


def with_labels(df: pl.DataFrame, min_n: int = 0) -> pl.DataFrame:
    """Add the tooltip strings (rate, interval) and the few-results flag."""
    return df.with_columns(
        rate_label=pct_expr("pass_rate"),
        interval=pct_expr("ci_low").str.replace(" %", "") + " – " + pct_expr("ci_high"),
        few=pl.col("n_evaluated") < min_n,
    )


def rate_tooltips(*dims: tuple[str, str]) -> list[alt.Tooltip]:
    """Tooltips of a rate mark: the dimensions, then rate, interval and the counts."""
    tips = [alt.Tooltip(f"{c}:N", title=t) for c, t in dims]
    return [
        *tips,
        alt.Tooltip("rate_label:N", title="pass rate"),
        alt.Tooltip("interval:N", title="95 % interval"),
        alt.Tooltip("n_evaluated:Q", title="n evaluated"),
        alt.Tooltip("n_passed:Q", title="n passed"),
        alt.Tooltip("n_unknown:Q", title="n unknown (excluded)"),
    ]


def centred_rate_scale(df: pl.DataFrame) -> tuple[alt.Scale, float, float, float]:
    """A diverging colour scale over the cells' own range, centred on their pooled pass rate.

    Returns ``(scale, low, overall, high)``. Cells between 80 and 100 % look alike on a 0-100 %
    scale; this one spends the colours where the data is, and the legend shows its real ends.
    """
    overall = float(df["n_passed"].sum()) / float(df["n_evaluated"].sum())
    low = min(float(df["pass_rate"].min()), overall)  # type: ignore[arg-type]
    high = max(float(df["pass_rate"].max()), overall)  # type: ignore[arg-type]
    if high - low < 1e-9:  # one value everywhere: any small span shows it as the centre colour
        low, high = max(0.0, overall - 0.01), min(1.0, overall + 0.01)
    scale = alt.Scale(scheme="redyellowgreen", domain=[low, high], domainMid=overall)
    return scale, low, overall, high


def zoomed_scale(low: float, high: float, *, pad: float = 0.02) -> alt.Scale:
    """An x/y scale over the data's own range (rates between 85 and 96 % are invisible on a
    0-100 % axis); ``zero`` is False when it does not start at 0, so callers can say so."""
    lo, hi = max(0.0, low - pad), min(1.0, high + pad)
    if lo <= 0.1:
        return alt.Scale(domain=[0, hi], zero=True)
    return alt.Scale(domain=[lo, hi], zero=False, nice=False)


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 × 10^k not below ``raw``."""
    k = 1.0
    while k * 10 <= raw:
        k *= 10
    while k > raw and k > 1e-6:
        k /= 10
    for m in (1, 2, 5, 10):
        if k * m >= raw:
            return k * m
    return k * 10


# -- data preparation ----------------------------------------------------------------
def version_label(versions: pl.DataFrame) -> pl.Expr:
    """The version, prefixed by its agent when several agents share the chart."""
    label = visible_expr(pl.col("agent_version").cast(pl.String))
    if "agent_id" in versions.columns and versions["agent_id"].n_unique() > 1:
        return pl.lit("agent ") + pl.col("agent_id").cast(pl.String) + ": " + label
    return label


def version_rules(versions: pl.DataFrame | None, rates: pl.DataFrame) -> pl.DataFrame:
    """One row per version change inside the plotted period and per metric panel (facets
    need one dataset); an agent's first version is where its data starts, not a change."""
    cols = {"day": pl.Date, "agent_version": pl.String, "metric_name": pl.String}
    if versions is None or versions.is_empty():
        return pl.DataFrame(schema=cols)
    by = ["agent_id"] if "agent_id" in versions.columns else []
    first = pl.col("day") == (pl.col("day").min().over(by) if by else pl.col("day").min())
    lo, hi = rates["day"].min(), rates["day"].max()
    return (
        versions.with_columns(pl.col("day").cast(pl.Date))
        .filter(~first, pl.col("day") > lo, pl.col("day") <= hi)
        .select("day", agent_version=version_label(versions))
        .join(rates.select("metric_name").unique(), how="cross")
        .with_columns(kind=pl.lit("version"))
    )


# -- export --------------------------------------------------------------------------
def save_chart(chart: Any, path: str | Path, *, scale: float = 2.0) -> Path:
    """Write ``chart`` as PNG, SVG or HTML (by suffix) with vl-convert: offline, no browser."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".html", ".json", ".pdf"):
        raise DataError(
            f"save_chart: unsupported suffix {path.suffix!r} (png, svg, pdf, html, json)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"scale_factor": scale} if path.suffix.lower() == ".png" else {}
    if path.suffix.lower() == ".html":
        kwargs["inline"] = True  # the vega JavaScript goes into the file: no CDN
    chart.save(str(path), **kwargs)
    return path


#: the renderer :func:`use_notebook_renderer` registers with altair
NOTEBOOK_RENDERER = "cekura"


def notebook_bundle(spec: dict[str, Any], **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A chart's Jupyter output: a PNG drawn by vl-convert and the Vega-Lite spec, plus (with
    ``interactive``) the interactive widget. Jupyter shows the widget; an nbconvert HTML
    export, GitHub and any viewer without the widget's state show the PNG."""
    from altair.utils.mimebundle import spec_to_mimebundle

    png, png_meta = spec_to_mimebundle(
        spec,
        format="png",
        mode="vega-lite",
        vega_version=alt.VEGA_VERSION,
        vegaembed_version=alt.VEGAEMBED_VERSION,
        vegalite_version=alt.VEGALITE_VERSION,
        scale_factor=options.get("scale_factor", 1.5),
    )
    major = alt.VEGALITE_VERSION.split(".")[0]
    data: dict[str, Any] = {**png, f"application/vnd.vegalite.v{major}+json": spec}
    meta: dict[str, Any] = dict(png_meta)
    if options.get("interactive"):
        with alt.renderers.enable("jupyter", offline=True):  # restored when the block ends
            widget = alt.renderers.get()(spec)  # type: ignore[misc]
        widget_data, widget_meta = widget if isinstance(widget, tuple) else (widget, {})
        data.update(widget_data)
        meta.update(widget_meta)
    return data, meta


alt.renderers.register(NOTEBOOK_RENDERER, notebook_bundle)


def use_notebook_renderer() -> str:
    """Render charts in Jupyter without fetching JavaScript from a CDN; returns the kind.

    Every chart carries a static PNG and its Vega-Lite spec, so a notebook exported with
    nbconvert, shown on GitHub or in any offline viewer keeps its charts. With ``anywidget``
    installed (the ``[notebooks]`` extra) Jupyter shows them interactive, tooltips and all
    (``"jupyter"``, offline bundle); otherwise the PNG (``"png"``), and a warning says how to
    get the interactive ones.
    """
    try:
        import anywidget  # noqa: F401
    except ImportError:
        alt.renderers.enable(NOTEBOOK_RENDERER, interactive=False)
        warnings.warn(
            "charts are static PNG (no tooltips): pip install 'cekura-analytics[notebooks]' "
            "for interactive ones",
            stacklevel=2,
        )
        return "png"
    alt.renderers.enable(NOTEBOOK_RENDERER, interactive=True)
    return "jupyter"
