"""Outputs of untrusted text: CSV cells a spreadsheet would run, control characters in the
terminal, in Markdown, in JUnit and in chart specs (Vega, and the PNGs vl-convert draws)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import xmlschema
from click.testing import CliRunner
from factories import T0, result, run, write_tables
from gate_data import REGRESSION, write_versions

from cekura_analytics.analysis.release_gate import gate
from cekura_analytics.cli import cli
from cekura_analytics.present.document import report
from cekura_analytics.present.junit import gate_junit
from cekura_analytics.present.markdown import gate_markdown, md_escape
from cekura_analytics.present.output import neutralise_formulas, render
from cekura_analytics.present.text import chart_title, visible

XSD = Path(__file__).parents[1] / "data" / "junit.xsd"
#: what a hostile name can hold: an ANSI escape, a bell, NUL, a backslash, DEL, a C1 control
HOSTILE = 'Cla\x1b[31mrity\x07 \\ "q"\x00\x7f\x85 </script>'


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-x", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK()"])
def test_csv_neutralises_what_a_spreadsheet_would_run(cell: str) -> None:
    df = pl.DataFrame({"name": [cell, "fine"], "n": [-3, 4], "tags": [[cell], ["a"]]})
    csv = render(df, "csv")
    got = pl.read_csv(csv.encode())
    assert got["name"].to_list() == ["'" + cell, "fine"]
    assert got["n"].to_list() == [-3, 4]  # numbers are numbers, not formulas
    assert got["tags"].to_list() == ["'" + cell, "a"]  # list cells too
    assert pl.read_csv(render(df, "csv", raw=True).encode())["name"][0] == cell


def test_cli_csv_is_neutralised_unless_raw(tmp_path: Path) -> None:
    d = write_tables(tmp_path / "d", runs=[run(1)], run_metrics=[result(1, 1, score=1.0)])
    stmt = "select '=cmd|calc' as evil"
    out = CliRunner().invoke(cli, ["sql", "--data-dir", str(d), stmt, "--format", "csv"])
    assert out.exit_code == 0 and out.output.splitlines()[1] == "'=cmd|calc", out.output
    raw = CliRunner().invoke(cli, ["sql", "--data-dir", str(d), stmt, "--format", "csv", "--raw"])
    assert raw.output.splitlines()[1] == "=cmd|calc"


def test_neutralising_keeps_the_frame_otherwise() -> None:
    df = pl.DataFrame({"a": ["x", None, "-1"], "b": [1.5, None, -2.0]})
    assert neutralise_formulas(df).to_dict(as_series=False) == {
        "a": ["x", None, "'-1"],
        "b": [1.5, None, -2.0],
    }


def test_control_characters_are_shown_not_sent() -> None:
    shown = visible(HOSTILE)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert "␛[31m" in shown and "␇" in shown and "␀" in shown and "\\" in shown
    assert "\\" not in chart_title(HOSTILE) and "␛" in chart_title(HOSTILE)
    table = render(pl.DataFrame({"name": [HOSTILE]}), "table")
    assert "\x1b" not in table and "␛" in table
    escaped = md_escape(HOSTILE)
    assert "\x1b" not in escaped and "\x00" not in escaped and "&lt;/script&gt;" in escaped


def test_junit_and_markdown_carry_hostile_names(tmp_path: Path) -> None:
    counts = dict(REGRESSION)
    counts[("v1", HOSTILE)] = counts.pop(("v1", "Clarity"))
    counts[("v2", HOSTILE)] = counts.pop(("v2", "Clarity"))
    result = gate(write_versions(tmp_path / "d", counts), 1)
    path = tmp_path / "gate.xml"
    path.write_text(gate_junit(result), encoding="utf-8")
    xmlschema.XMLSchema(str(XSD)).validate(str(path))  # parses: no character XML forbids
    names = [
        c["@name"]
        for c in xmlschema.XMLSchema(str(XSD)).to_dict(str(path))["testsuite"][0]["testcase"]
    ]
    assert visible(HOSTILE) in names
    md = gate_markdown(result)
    assert "\x1b" not in md and "␛" in md and "\\|" not in md.split("\n")[0]


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Versions, a metric and scenarios named with control characters and backslashes."""
    from datetime import timedelta

    d = tmp_path_factory.mktemp("hostile") / "d"
    runs, rows = [], []
    for i in range(1, 121):
        version = "v\\1\x08" if i <= 60 else "v2\x1b[31m"
        when = T0 + timedelta(hours=5 * i)
        runs.append(run(i, agent_version=version, scenario_id=1 + i % 3, timestamp=when))
        explanation = "bad\x00 thing \\ happened"
        score = float(i % 4 != 0)
        rows.append(result(i, 1, metric_name=HOSTILE, metric_type="binary", score=score,
                           explanation=explanation))  # fmt: skip
    write_tables(
        d,
        runs=runs,
        run_metrics=rows,
        metrics=[{"metric_id": 1, "name": HOSTILE, "eval_type": "binary"}],
        scenarios=[{"scenario_id": s, "name": f"sc{s}\x1b"} for s in (1, 2, 3)],
    )
    return d


def test_markdown_report_with_hostile_names_writes_its_pngs(hostile_dir: Path) -> None:
    """vl-convert aborted the process on a control character in a chart's text."""
    out = report(hostile_dir, hostile_dir / "r.md", fmt="md")
    text = out.read_text(encoding="utf-8")
    assert "\x1b" not in text and "␛" in text
    pngs = list((hostile_dir / "r_charts").glob("*.png"))
    assert len(pngs) >= 4 and all(p.stat().st_size > 1000 for p in pngs)


def test_html_report_specs_carry_no_control_characters(hostile_dir: Path) -> None:
    html = report(hostile_dir, hostile_dir / "r.html").read_text(encoding="utf-8")
    strings = [t for s in _specs(html) for t in _strings(json.loads(s))]
    assert visible(HOSTILE) in strings  # the metric's name, shown
    assert not [t for t in strings if any(ord(c) < 0x20 and c not in "\n\t" for c in t)]


def _strings(value: object) -> list[str]:
    """Every string in a parsed JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (k, *_strings(v))]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v)]
    return []


def _specs(html: str) -> list[str]:
    """The chart specs embedded in the report (JSON inside script elements)."""
    import re

    found = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)
    return [f for f in found if f.strip().startswith("{")]
