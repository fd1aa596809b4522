"""Charts: built from frames shaped like the views, tooltips with n and interval, offline export."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import altair as alt
import polars as pl
import pytest

from cekura_analytics import charts as ch
from cekura_analytics.analysis.stats import wilson_interval
from cekura_analytics.errors import DataError

METRICS = ["Empathy", "Latency", "Task completion <b>"]
PERSONAS = ["Angry Alex", "Calm Carla", "Fast Fred"]


def rates(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows with n_evaluated / n_passed completed as a one-scenario view would (the rate and
    Wilson's interval, which the clustered one is with a single scenario)."""
    df = pl.DataFrame(rows)
    bounds = [wilson_interval(k, n) for k, n in zip(df["n_passed"], df["n_evaluated"], strict=True)]
    rate = pl.when(pl.col("n_evaluated") > 0).then(pl.col("n_passed") / pl.col("n_evaluated"))
    return df.with_columns(
        pass_rate=rate,
        ci_low=pl.Series([b[0] for b in bounds], dtype=pl.Float64),
        ci_high=pl.Series([b[1] for b in bounds], dtype=pl.Float64),
    )


def cell(n: int, k: int, **dims: Any) -> dict[str, Any]:
    return {**dims, "n_evaluated": n, "n_passed": k, "n_unknown": 1}


@pytest.fixture
def by_metric() -> pl.DataFrame:
    return rates([cell(50, 40, metric_id=1, metric_name=METRICS[0]),
                  cell(30, 6, metric_id=2, metric_name=METRICS[1]),
                  cell(0, 0, metric_id=3, metric_name=METRICS[2])])  # fmt: skip


@pytest.fixture
def by_persona() -> pl.DataFrame:
    rows = [
        cell(3 if (i, j) == (0, 0) else 40, 20 + i + j, metric_id=i, metric_name=m,
             personality_id=j, personality_name=p)
        for i, m in enumerate(METRICS) for j, p in enumerate(PERSONAS)
    ]  # fmt: skip
    rows[0]["n_passed"] = 1
    return rates(rows)


@pytest.fixture
def daily() -> pl.DataFrame:
    start = dt.date(2024, 1, 1)  # a Monday
    return rates([cell(10, 8 if d < 10 else 4, day=start + dt.timedelta(d), metric_id=1,
                       metric_name="Empathy") for d in range(21)])  # fmt: skip


def spec(chart: Any) -> dict[str, Any]:
    return chart.to_dict()  # validates against the Vega-Lite schema


def data_rows(chart: Any) -> list[dict[str, Any]]:
    return [row for rows in spec(chart)["datasets"].values() for row in rows]


def tooltip_fields(chart: Any) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            tips = node.get("tooltip")
            if isinstance(tips, list):
                found.update(t["field"] for t in tips if "field" in t)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec(chart))
    return found


def test_pass_rate_by_metric_sorted_with_error_bars(by_metric: pl.DataFrame) -> None:
    chart = ch.pass_rate_by_metric(by_metric)
    d = spec(chart)
    marks = [layer["mark"]["type"] for layer in d["layer"]]
    assert marks == ["rule", "point", "text"]  # interval, dot, runs (scenarios)
    assert d["layer"][0]["encoding"]["y"]["sort"] == ["Latency", "Empathy"]  # worst first
    rows = data_rows(chart)
    assert {r["metric_name"] for r in rows} == {"Empathy", "Latency"}  # n = 0 left out
    assert {"n_evaluated", "interval", "rate_label"} <= tooltip_fields(chart)
    empathy = next(r for r in rows if r["metric_name"] == "Empathy")
    assert empathy["rate_label"] == "80.0 %" and empathy["interval"] == "67.0 – 88.8 %"
    assert d["config"]["font"] == ch.THEME["font"]  # the shared theme is applied
    assert "zoomed" not in d["title"]["subtitle"]  # 20 % and 80 %: the axis starts at 0


def test_pass_rate_by_metric_zooms_and_says_so() -> None:
    """Ten metrics between 85 and 96 % on a 0-100 % axis hid every difference and interval:
    the axis spans the intervals, and the subtitle says it is zoomed."""
    df = rates([cell(400, k, metric_id=i, metric_name=f"M{i}")
                for i, k in enumerate((340, 360, 372, 384))])  # fmt: skip
    d = spec(ch.pass_rate_by_metric(df))
    scale = d["layer"][1]["encoding"]["x"]["scale"]
    assert scale["zero"] is False and 0.78 < scale["domain"][0] < 0.85
    assert scale["domain"][1] < 1 and "axis zoomed to the data" in d["title"]["subtitle"]


def test_heatmaps_mark_cells_with_few_results(by_persona: pl.DataFrame) -> None:
    chart = ch.metric_personality_heatmap(by_persona, min_n=10)
    rows = data_rows(chart)
    few = [r for r in rows if r["few"]]
    assert [(r["metric_name"], r["personality_name"]) for r in few] == [("Empathy", "Angry Alex")]
    d = spec(chart)
    assert "strokeDash" in d["layer"][1]["mark"]  # dashed outline layer for few-results cells
    assert d["layer"][2]["encoding"]["text"]["field"] == "pass_rate"  # the rate, n in the tooltip
    assert {"n_evaluated", "interval"} <= tooltip_fields(chart)
    lang = rates([cell(20, 10, metric_name="Empathy", scenario_language=None)])
    assert data_rows(ch.metric_language_heatmap(lang))[0]["scenario_language"] == "(none)"


def test_heatmap_colours_around_the_overall_rate_over_the_data_range() -> None:
    # every cell between 80 and 100 %: the colours must spread over that range, not 0-100 %
    df = rates(
        [
            cell(100, 98, metric_name="Empathy", personality_name="Calm"),
            cell(100, 80, metric_name="Empathy", personality_name="Angry"),
            cell(100, 92, metric_name="Clarity", personality_name="Calm"),
            cell(100, 90, metric_name="Clarity", personality_name="Angry"),
        ]
    )
    d = spec(ch.metric_personality_heatmap(df))
    color = d["layer"][0]["encoding"]["color"]
    assert color["scale"]["domain"] == [0.8, 0.98]
    assert color["scale"]["domainMid"] == pytest.approx(0.9)  # 360 / 400 results pass
    assert color["legend"]["values"] == pytest.approx([0.8, 0.9, 0.98])  # the real ends
    assert "overall 90.0 %" in d["title"]["subtitle"][0]


def test_version_comparison_draws_the_comparisons_verdicts(tmp_path: Any) -> None:
    """The chart draws compare_versions' verdicts and gate marks: it decides nothing itself."""
    from gate_data import REGRESSION, write_versions

    from cekura_analytics.analysis.versions import compare_versions

    cmp = compare_versions(write_versions(tmp_path / "d", REGRESSION), agent_id=1)
    chart = ch.version_comparison(cmp)
    rows = {r["metric_name"]: r for r in data_rows(chart)}
    want = {r["metric_name"]: r for r in cmp.iter_rows(named=True)}
    assert {m: r["verdict"] for m, r in rows.items()} == {m: r["verdict"] for m, r in want.items()}
    assert rows["Empathy"]["verdict"] == "worse" and rows["Empathy"]["gate"] == "fails the gate"
    assert rows["Clarity"]["gate"] == ""
    assert rows["Empathy"]["label_b"] == "70.0 % [60.4 – 78.1 %] n=100 (1)"
    d = spec(chart)
    assert d["layer"][4]["mark"]["type"] == "text" and "✗ gate" in d["title"]["subtitle"]
    assert {"label_a", "label_b", "verdict", "reason"} <= tooltip_fields(chart)
    scale = d["layer"][2]["encoding"]["x"]["scale"]
    assert scale["domain"][0] > 0.5 and scale["zero"] is False  # zoomed, and it says so
    assert "zoomed" in d["title"]["subtitle"]


@pytest.mark.parametrize("freq", ["day", "week"])
def test_trend_has_band_and_version_rules(daily: pl.DataFrame, freq: str) -> None:
    versions = pl.DataFrame({"agent_version": ["v1", "v2", "v9"]}).with_columns(
        day=pl.Series([dt.date(2024, 1, 1), dt.date(2024, 1, 11), dt.date(2030, 1, 1)])
    )
    frame = daily if freq == "day" else daily.rename({"day": "week"})
    chart = ch.trend(frame, freq=freq, versions=versions)
    d = spec(chart)
    assert d["facet"]["field"] == "metric_name"
    marks = [layer["mark"]["type"] for layer in d["spec"]["layer"]]
    assert marks == ["area", "line", "line", "point", "rule", "text"]
    rules = [r for r in data_rows(chart) if r["kind"] == "version"]
    assert [r["agent_version"] for r in rules] == ["v2"]  # only changes inside the period
    with pytest.raises(DataError, match="freq"):
        ch.trend(daily, freq="month")


def test_duration_histogram_counts_every_run_and_caps_the_tail() -> None:
    runs = pl.DataFrame(
        {"duration_s": [*range(10, 210), 100_000], "success": [True, False] * 100 + [None]}
    )
    chart = ch.duration_distribution(runs, bins=20)
    rows = [r for r in data_rows(chart) if "runs" in r]
    assert sum(r["runs"] for r in rows) == runs.height
    assert max(r["end"] for r in rows) < 1000  # the stuck run sits in the last bin
    assert {r["outcome"] for r in rows} == {"success", "failure", "unknown"}


def test_outlier_table_ranks_and_keeps_reasons() -> None:
    df = pl.DataFrame(
        {
            "run_id": [1, 2],
            "outlier_score": [1.5, 4.0],
            "reasons": [["slow"], ["failed Empathy (usually 95 %)", "low score"]],
            "failed_metrics": [[], ["Empathy"]],
        }
    )
    chart = ch.outlier_table(df)
    d = spec(chart)
    assert d["hconcat"][0]["encoding"]["y"]["sort"] == ["run 2", "run 1"]
    row = next(r for r in data_rows(chart) if r["run"] == "run 2")
    assert row["reasons"] == "failed Empathy (usually 95 %); low score"


def test_missing_columns_and_empty_frames_are_clear_errors(by_metric: pl.DataFrame) -> None:
    with pytest.raises(DataError, match="lacks column"):
        ch.pass_rate_by_metric(by_metric.drop("ci_high"))
    with pytest.raises(DataError, match="no metric"):
        ch.pass_rate_by_metric(by_metric.filter(pl.col("n_evaluated") == 0))


def test_unthemed_charts_compose(by_metric: pl.DataFrame, by_persona: pl.DataFrame) -> None:
    a = ch.unthemed(ch.pass_rate_by_metric(by_metric))
    b = ch.unthemed(ch.metric_personality_heatmap(by_persona))
    both = alt.vconcat(a, b)
    assert "vconcat" in both.to_dict()
    assert "cekura" in alt.theme.names()


def test_save_png_and_svg_offline(tmp_path: Any, by_persona: pl.DataFrame, daily: Any) -> None:
    heat = ch.metric_personality_heatmap(by_persona)
    png = ch.save_chart(heat, tmp_path / "heat.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = ch.save_chart(ch.trend(daily), tmp_path / "sub" / "trend.svg").read_text()
    assert svg.lstrip().startswith("<svg") and "Empathy" in svg
    with pytest.raises(DataError, match="suffix"):
        ch.save_chart(heat, tmp_path / "x.gif")


def test_notebook_renderer_is_interactive_with_anywidget_and_says_when_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import altair as alt

    from cekura_analytics.present.theme import use_notebook_renderer

    before = alt.renderers.active
    try:
        assert use_notebook_renderer() == "jupyter"
        monkeypatch.setitem(sys.modules, "anywidget", None)  # as if not installed
        with pytest.warns(UserWarning, match=r"static PNG.*\[notebooks\]"):
            assert use_notebook_renderer() == "png"
        bundle = alt.Chart(pl.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
        data, _ = alt.renderers.get()(bundle.to_dict())  # type: ignore[misc]
        assert data["image/png"] and "application/vnd.jupyter.widget-view+json" not in data
    finally:
        alt.renderers.enable(before)


def test_a_partial_last_week_is_drawn_as_partial(daily: pl.DataFrame) -> None:
    """Data through a Wednesday: its week counts three days, so its point is hollow and the
    subtitle says it is partial (it would otherwise read as a drop)."""
    weeks = daily.rename({"day": "week"}).filter(pl.col("week").dt.weekday() == 1)
    through = dt.date(2024, 1, 17)  # the Wednesday of the third week
    chart = ch.trend(weeks, freq="week", through=through)
    rows = [r for r in data_rows(chart) if r["kind"] == "rate"]
    assert [r["partial"] for r in rows] == [False, False, True]
    assert [r["tail"] for r in rows] == [False, True, True]
    assert "partial" in " ".join(spec(chart)["title"]["subtitle"].split())
    whole = ch.trend(weeks, freq="week", through=dt.date(2024, 1, 21))  # the Sunday: complete
    assert not any(r["partial"] for r in data_rows(whole) if r["kind"] == "rate")


def test_failure_modes_draw_a_partial_last_week_as_partial() -> None:
    """Failures per mode and week: a last week counted through its Wednesday fell towards zero
    and read as a fix; its points are hollow, joined by a dashed line, and the title says so."""
    modes = pl.DataFrame({"mode_id": ["a", "b"], "metric_id": [1, 1], "metric_name": ["M1"] * 2,
                          "label": ["wrong day", "hung up"], "n_failed": [30, 12],
                          "mode_rank": [1, 2]})  # fmt: skip
    mondays = [dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 1, 15)]
    weekly = pl.DataFrame({"mode_id": ["a"] * 3 + ["b"] * 3, "week_start": mondays * 2,
                           "n_failed": [10, 12, 4, 5, 4, 1]})  # fmt: skip
    chart = ch.failure_mode_chart(modes, weekly, through=dt.date(2024, 1, 17))
    rows = [r for r in data_rows(chart) if "week_start" in r]
    assert [r["partial"] for r in rows] == [False, False, True] * 2
    assert [r["tail"] for r in rows] == [False, True, True] * 2
    line = spec(chart)["vconcat"][0]["hconcat"][1]
    marks = [layer["mark"] for layer in line["layer"]]
    assert marks[1]["strokeDash"] and marks[2]["type"] == "point"  # the dashed tail, the dots
    assert "partial (data through 2024-01-17)" in spec(chart)["title"]["subtitle"]
    whole = ch.failure_mode_chart(modes, weekly, through=dt.date(2024, 1, 21))  # the Sunday
    assert not any(r.get("partial") for r in data_rows(whole))
    assert "partial" not in spec(whole)["title"]["subtitle"]
    assert "partial" not in spec(ch.failure_mode_chart(modes, weekly))["title"]["subtitle"]
