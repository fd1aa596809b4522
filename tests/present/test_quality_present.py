"""Flakiness and trust as people read them: the two charts, the table view, and the report's
"Flaky scenarios" and "How far to trust each metric" sections (HTML and Markdown)."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import Planted
from factories import result, run, write_tables

from cekura_analytics import flaky, review_agreement
from cekura_analytics.errors import DataError
from cekura_analytics.lake.store import Store
from cekura_analytics.present.document import report
from cekura_analytics.present.quality import readable, trust_caveat
from cekura_analytics.present.quality_charts import KINDS, flaky_chart, overturn_chart
from cekura_analytics.warehouse.connection import connect

EVIL = "<script>alert(1)</script>\x1b[31m\\"


@pytest.fixture(scope="module")
def frames(planted_4k: Planted) -> dict[str, pl.DataFrame]:
    con = connect(planted_4k.data_dir)
    try:
        return {
            "shares": flaky(con),
            "cells": flaky(con, "scenario", flaky_only=True),
            "reviews": review_agreement(con),
            "agents": review_agreement(con, "agent"),
        }
    finally:
        con.close()


def datasets(chart: Any) -> list[dict[str, Any]]:
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    return [row for rows in spec["datasets"].values() for row in rows]


def test_flaky_chart_splits_each_metric(frames: dict[str, pl.DataFrame]) -> None:
    shares = frames["shares"]
    rows = datasets(flaky_chart(shares))
    assert len(rows) == 3 * shares.height
    by_metric: dict[str, float] = {}
    for r in rows:
        by_metric[r["metric"]] = by_metric.get(r["metric"], 0.0) + r["share"]
        assert r["kind"] in [label for label, _ in KINDS.values()] and "–" in r["interval"]
    assert all(abs(v - 1) < 1e-9 for v in by_metric.values())
    spec = flaky_chart(shares).to_dict()
    order = spec["encoding"]["y"]["sort"]
    flakiest = shares.sort("share_flaky", descending=True)["metric_name"].to_list()
    assert order == flakiest and order[0] == "Empathy"


def test_overturn_chart_ranks_metrics_and_skips_missing_corrections(
    frames: dict[str, pl.DataFrame],
) -> None:
    reviews = frames["reviews"]
    few = reviews.with_columns(
        corrected_pass_rate=pl.when(pl.col("metric_id") == 301).then(None)
        .otherwise(pl.col("corrected_pass_rate"))
    )  # fmt: skip
    chart = overturn_chart(few)
    spec = chart.to_dict()
    left = spec["hconcat"][0]
    assert left["layer"][0]["encoding"]["y"]["sort"][0] == "Customer Sentiment"
    rows = datasets(chart)
    corrected = [r for r in rows if r.get("kind") == "corrected by the reviews"]
    judged = [r for r in rows if r.get("kind") == "judge"]
    assert len(judged) == reviews.height and len(corrected) == reviews.height - 1
    assert "Appointment Booked" not in {r["metric"] for r in corrected}


def test_charts_show_untrusted_names_inert(frames: dict[str, pl.DataFrame]) -> None:
    for make, frame in ((flaky_chart, frames["shares"]), (overturn_chart, frames["reviews"])):
        evil = frame.with_columns(metric_name=pl.lit(EVIL) + pl.col("metric_name"))
        names = {r["metric"] for r in datasets(make(evil)) if "metric" in r}
        assert all("\x1b" not in n and "␛[31m" in n for n in names)


def test_charts_without_data_are_clear_errors(frames: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(DataError, match="no scenario ran at least twice"):
        flaky_chart(frames["shares"].head(0))
    with pytest.raises(DataError, match="no reviewed failures"):
        overturn_chart(frames["reviews"].with_columns(n_reviewed_failed=pl.lit(0)))
    with pytest.raises(DataError, match="lacks column"):
        overturn_chart(frames["shares"])


@pytest.mark.parametrize(
    ("frame", "headers"),
    [
        ("shares", ["metric", "cells (scenarios)", "runs/cell", "always passed", "flaky",
                    "always failed"]),
        ("cells", ["metric", "scenario", "agent", "version", "passed", "flaky", "outcomes",
                   "failed run"]),
        ("reviews", ["metric", "overturned", "missed (run level)", "judge pass rate",
                     "corrected pass rate"]),
        ("agents", ["agent", "reviewed runs", "both passed", "judge passed, reviewer failed",
                    "judge failed, reviewer passed", "both failed", "agreement", "kappa"]),
    ],
)  # fmt: skip
def test_table_view(frames: dict[str, pl.DataFrame], frame: str, headers: list[str]) -> None:
    df = frames[frame]
    table = readable(df)
    assert table.columns == headers and table.height == df.height
    first = df.row(0, named=True)
    if frame == "reviews":
        k, n = first["n_overturned"], first["n_reviewed_failed"]
        assert table["overturned"][0].endswith(f"] {k} of {n}")
    if frame == "cells":
        assert table["outcomes"][0] == first["outcomes"]
        assert table["failed run"][0] == str(first["example_failed_run_id"])
    with pytest.raises(DataError, match="no table view"):
        readable(pl.DataFrame({"x": [1]}))


@pytest.fixture(scope="module")
def evil_dir(planted_4k: Planted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted data with an untrusted scenario name, and the last 40 days' scope."""
    d = tmp_path_factory.mktemp("evil") / "data"
    shutil.copytree(planted_4k.data_dir, d)
    with Store(d, lock=True) as store:
        scenarios = store.read("scenarios").with_columns(name=pl.lit(EVIL) + pl.col("name"))
        store.replace_table("scenarios", scenarios)
    return d


def _since(d: Path) -> str:
    last = pl.read_delta(str(d / "runs"))["timestamp"].max()
    assert last is not None
    return str((last - timedelta(days=40)).date())  # type: ignore[operator]


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_report_sections(evil_dir: Path, tmp_path: Path, fmt: str) -> None:
    since = _since(evil_dir)
    out = report(evil_dir, tmp_path / f"r.{fmt}", fmt=fmt, since=since)
    text = out.read_text(encoding="utf-8")
    cells = flaky(evil_dir, "scenario", flaky_only=True, since=since)
    trust = review_agreement(evil_dir, since=since)
    worst = trust.sort("overturn_rate", descending=True)["metric_name"][0]
    top = cells.row(0, named=True)
    assert "<script>alert" not in text
    if fmt == "html":
        flaky_part = text[text.index('<h2 id="flaky">') : text.index('<h2 id="trust">')]
        trust_part = text[text.index('<h2 id="trust">') : text.index('<h2 id="suggestions">')]
        assert "\x1b" not in flaky_part + trust_part
        assert f"<td>{top['outcomes']}</td><td>{top['example_failed_run_id']}</td>" in flaky_part
        assert "&lt;script&gt;alert(1)&lt;/script&gt;␛[31m" in flaky_part  # escaped, inert
        assert re.search(r"<tr><td>Empathy</td>", flaky_part)
        assert f"<tr><td>{worst}</td>" in trust_part and trust_caveat() in trust_part
        assert "<th>kappa</th>" in trust_part
        assert 'id="spec-flaky"' in text and 'id="spec-trust"' in text
    else:
        flaky_part = text[text.index("## Flaky scenarios\n\nA cell") : text.index("## How far")]
        trust_part = text[text.index("## How far to trust each metric\n\nEvery") :]
        assert "\x1b" not in text
        assert f"| {top['outcomes']} | {top['example_failed_run_id']} |" in flaky_part
        assert "&lt;script&gt;alert(1)&lt;/script&gt;␛\\[31m" in flaky_part
        assert f"\n| {worst} | " in trust_part and "| kappa |" in trust_part
        for key in ("flaky", "trust"):
            assert (tmp_path / "r_charts" / f"{key}.png").read_bytes()[:4] == b"\x89PNG"


def test_report_without_reviews_or_repeats_says_so(tmp_path: Path) -> None:
    d = write_tables(tmp_path / "d", runs=[run(1, scenario_id=1), run(2, scenario_id=2)],
                     run_metrics=[result(1, 1, metric_passed=True),
                                  result(2, 1, metric_passed=False)])  # fmt: skip
    text = report(d, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No scenario ran at least twice on one agent version in scope." in text
    assert "no reviewed runs in scope" in text
    assert text.count('data-skipped="1"') >= 2
