"""``tables``: every table and view ``sql`` can query, with the grain its SQL header or the
table registry states, and each one's columns as DuckDB defines them (no data dir needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import result, run, write_tables

from cekura_analytics.cli import cli
from cekura_analytics.errors import ConfigError
from cekura_analytics.lake.tables import EXTRACTED, SCHEMAS
from cekura_analytics.warehouse.catalog import grain, table_doc, tables
from cekura_analytics.warehouse.connection import connect, sql_files, view_names


def test_every_view_and_table_is_listed_with_the_grain_its_file_states() -> None:
    listed = tables()
    names = listed["name"].to_list()
    assert set(view_names()) | set(EXTRACTED) <= set(names)
    assert len(names) == len(set(names))
    assert names[: len(EXTRACTED)] == list(EXTRACTED)  # the data first
    for f in sql_files():
        text = f.read_text()
        m = re.search(r"create\s+or\s+replace\s+(?:view|table)\s+(\w+)", text)
        if m:
            first = text.splitlines()[0].removeprefix("-- ")
            row = listed.filter(listed["name"] == m.group(1)).row(0, named=True)
            assert first.startswith(row["grain"]) and row["grain"], (f.name, row["grain"])
    assert listed.filter(listed["name"] == "runs")["grain"].item() == "one row per run"


def test_the_columns_are_those_a_query_returns(tmp_path: Path) -> None:
    d = write_tables(tmp_path, runs=[run(1)], run_metrics=[result(1, 1, score=1.0)])
    con = connect(d)
    try:
        for name in ("runs", "metric_results", "pass_rates_by_metric_language"):
            got = con.sql(f"select * from {name}").columns
            assert tables(name)["column"].to_list() == got, name
    finally:
        con.close()
    cols = tables("run_metrics")
    assert cols["column"].to_list() == list(SCHEMAS["run_metrics"])
    doc = dict(cols.select("column", "doc").rows())
    assert doc["eval_type"].startswith("normalised: binary")  # the comment in lake/tables.py
    rate_doc = dict(tables("pass_rates_by_metric").select("column", "doc").rows())
    assert "clustered by scenario" in rate_doc["ci_low"]


def test_an_unknown_name_names_the_close_ones() -> None:
    with pytest.raises(ConfigError, match="did you mean metric_results"):
        tables("metric_result")
    assert table_doc("pass_rates_by_metric").startswith("pass_rates_by_metric (view, marts)\n")


@pytest.mark.parametrize(
    ("header", "want"),
    [
        ("one row per run × metric: the metric result", "one row per run × metric"),
        ("one row: the thresholds", "one row"),
        ("one row per scenario of the table (renamed", "one row per scenario of the table"),
        ("macros (no rows): Wilson", "macros (no rows)"),
    ],
)
def test_grain_is_the_headers_first_clause(header: str, want: str) -> None:
    assert grain(header) == want


def test_cli_tables_needs_no_data_dir() -> None:
    res = CliRunner().invoke(cli, ["tables", "--format", "csv"])
    assert (
        res.exit_code == 0 and "pass_rates_by_metric,view,marts,one row per metric," in res.output
    )
    res = CliRunner().invoke(cli, ["tables", "runs"])
    assert res.exit_code == 0 and res.output.startswith("runs (table, table)\n  one row per run")
    res = CliRunner().invoke(cli, ["tables", "nope"])
    assert res.exit_code == 2 and res.output.startswith("error: no table or view named 'nope'")


def test_the_readme_names_real_views_with_their_grain() -> None:
    """ "The views you will query": each view the README's table names exists, and the grain
    it gives is the one the view's SQL file states first."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### The views you will query", 1)[1].split("\n### ", 1)[0]
    listed = tables()
    grains = dict(listed.select("name", "grain").rows())
    rows = [ln.split("|") for ln in section.splitlines() if ln.startswith("| `")]
    assert len(rows) >= 15
    for cells in rows:
        names = re.findall(r"`(\w+)`", cells[1])
        first = names[0]
        assert first in grains, first
        stated = cells[2].strip().split(" / ")[0]
        assert grains[first].startswith(stated.split(" × week")[0]), (first, stated)
        stem = first
        for name in names[1:]:  # `_by_personality` after failure_modes_by_x: its sibling
            full = name if name in grains else stem.rsplit("_by_", 1)[0] + name
            assert full in grains, name
            stem = full if "_by_" in full else stem
