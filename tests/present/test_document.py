"""The report: self-contained HTML, Markdown + PNGs, filters, escaping, CLI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from cekura_analytics import charts as ch
from cekura_analytics import extract
from cekura_analytics.cli import cli
from cekura_analytics.errors import ConfigError, DataError
from cekura_analytics.improve import ledger as lg
from cekura_analytics.lake.store import Store
from cekura_analytics.mock import MockServer
from cekura_analytics.mock.history import record_improve_history
from cekura_analytics.present.document import json_script, vega_javascript
from cekura_analytics.present.document import report as build_report
from cekura_analytics.present.markdown import _fenced, md_escape

PROMPT = "Be kind.\nBook appointments.\n"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 mock runs extracted, one finished improve-prompt job in the ledger."""
    d = tmp_path_factory.mktemp("report") / "data"
    with MockServer(runs=600, seed=0, api_key="k") as srv:
        # commits of ~200 runs, so an older version of the runs table holds fewer runs (as-of)
        extract(d, base_url=srv.base_url, api_key="k", quiet=True, commit_runs=200)
    first = runs(d).sort("timestamp", descending=True).row(0, named=True)
    with Store(d, lock=True) as store:
        ledger = lg.Ledger(store)
        sha = lg.sha256_text(PROMPT)
        row = {**lg.empty_row(), "job_id": lg.make_job_id("prompt", first["run_id"], sha)}
        row.update(kind="prompt", run_id=first["run_id"], agent_id=first["agent_id"])
        row.update(prompt=PROMPT, prompt_sha256=sha)
        row.update(status=lg.COMPLETED, finished_at=lg.now(), summary_of_changes="Adds `|` rule")
        row.update(improved_prompt="Be kind.\nAlways confirm the slot.\nBook appointments.\n")
        ledger.put(row)
        ledger.commit()
    return d


@pytest.fixture(scope="module")
def html(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("html") / "report.html"
    assert build_report(data_dir, out) == out
    return out.read_text(encoding="utf-8")


def runs(d: Path) -> pl.DataFrame:
    return pl.read_delta(str(d / "runs"))


def test_html_is_self_contained(html: str) -> None:
    # No external script, stylesheet, image or font: the file opens on a plane.
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?https?:""", html)
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert "vegaEmbed" in html and len(html) > 500_000  # the bundle is inline
    assert html.count('type="application/json" id="spec-') >= 6
    assert "Content-Security-Policy" in html and "connect-src 'none'" in html


def test_headline_numbers(html: str, data_dir: Path) -> None:
    n = runs(data_dir).height
    assert f'<div class="v">{n:,}</div><div class="k">runs</div>' in html
    assert "overall metric pass rate" in html and "data freshness" in html
    finished = (Store(data_dir).state.last_sync or {})["finished_at"]
    assert finished[:19].replace("T", " ") in html
    assert f"runs table version {Store(data_dir).version('runs')}" in html  # what it was built from


def test_sections_worst_cells_outliers_and_diffs(html: str) -> None:
    worst = html[
        html.index('<h2 id="worst">Worst cells') : html.index('<h2 id="outliers">Top outlier')
    ]
    assert worst.count("<tr>") >= 2 and re.search(r"\d+\.\d – \d+\.\d %", worst)
    outliers = html[
        html.index('<h2 id="outliers">Top outlier') : html.index('<h2 id="suggestions">Improve')
    ]
    assert "run " in outliers and "<li>" in outliers
    assert 'class="transcript"' in outliers
    assert '<span class="add">+Always confirm the slot.\n</span>' in html
    assert "Adds `|` rule" in html


def test_did_the_suggestions_work_section(data_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(data_dir, d)
    record_improve_history(d)  # jobs while 4519 (v3) was live; 4588 (v4) fixed it
    html = build_report(d, tmp_path / "r.html").read_text(encoding="utf-8")
    section = html[html.index('<h2 id="impact">Did the suggestions work?') : html.index("<footer>")]
    rows = section.split("<tr>")[2:]
    booked = [r for r in rows if "Appointment Booked" in r]
    assert len(booked) == 3 and all("<td>improved</td>" in r for r in booked)
    assert re.search(r"v3: \d+\.\d % \[\d+\.\d – \d+\.\d %\] n=\d+", booked[0])
    md = build_report(d, tmp_path / "r.md", fmt="md").read_text(encoding="utf-8")
    assert "## Did the suggestions work?" in md and "| improved |" in md


def test_untrusted_text_is_escaped(data_dir: Path, tmp_path: Path) -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    d = tmp_path / "d"
    shutil.copytree(data_dir, d)
    with Store(d, lock=True) as store:
        runs = store.read("runs").with_columns(transcript=pl.lit(evil), scenario_name=pl.lit(evil))
        store.upsert_runs(runs, store.read("run_metrics"))
        pers = store.read("personalities").with_columns(name=pl.col("name") + evil)
        store.replace_table("personalities", pers)
    text = build_report(d, tmp_path / "r.html").read_text(encoding="utf-8")
    assert evil not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in text
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in text  # inside a chart spec


def test_json_script_cannot_close_the_script_element() -> None:
    text = str(json_script({"a": "</script><!-- & 'x' \u2028"}))
    assert "<" not in text and ">" not in text and "&" not in text and "'" not in text
    assert "\u2028" not in text
    assert "</script" not in vega_javascript().lower()


def test_cli_markdown_with_filters_and_png_charts(data_dir: Path, tmp_path: Path) -> None:
    all_runs = runs(data_dir)
    newest = all_runs.sort("timestamp").row(-1, named=True)
    agent = int(newest["agent_id"])  # the agent of the ledger's job
    since = str(all_runs["timestamp"].sort()[all_runs.height // 2].date())
    out = tmp_path / "ticket" / "report.md"
    args = ["report", "--data-dir", str(data_dir), "--out", str(out), "--format", "md"]
    res = CliRunner().invoke(cli, [*args, "--since", since, "--agent-id", str(agent)])
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output
    text = out.read_text(encoding="utf-8")
    in_scope = (pl.col("agent_id") == agent) & (
        pl.col("timestamp").dt.date() >= pl.lit(since).str.to_date()
    )
    assert f"| runs | {all_runs.filter(in_scope).height:,} |" in text
    assert f"since {since} 00:00 UTC, agent {agent}" in text
    images = re.findall(r"!\[[^\]]*\]\(<([^>]+)>\)", text)
    assert len(images) >= 5
    for rel in images:
        assert (out.parent / rel).read_bytes()[:4] == b"\x89PNG", rel
    assert "| metric | where | pass rate | 95 % interval | runs (scenarios) |" in text
    assert "```diff" in text and "+Always confirm the slot." in text
    assert "Adds \\`\\|\\` rule" in text  # escaped outside code blocks


def test_md_escape_and_fences() -> None:
    assert md_escape("a|b <i>x</i>\nc") == "a\\|b &lt;i&gt;x&lt;/i&gt; c"
    assert md_escape("*_[x](y)_*") == "\\*\\_\\[x\\](y)\\_\\*"
    # a transcript may hold its own fence: the block's fence is longer, so it cannot end early
    text = "agent: ```\nrm -rf /\n```` and more"
    block = _fenced(text, "diff")
    fence = block.splitlines()[0].removesuffix("diff")
    assert fence == "`" * 5 and block.splitlines()[-1] == fence
    assert block == f"{fence}diff\n{text}\n{fence}"
    assert _fenced("no backticks") == "```\nno backticks\n```"
    assert md_escape(block) == block  # built by the code: not escaped again


def test_png_dir_for_html(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[Path] = []
    monkeypatch.setattr(ch, "save_chart", lambda chart, path: saved.append(path) or path)
    build_report(data_dir, tmp_path / "r.html", png_dir=tmp_path / "png")
    assert len(saved) >= 6 and all(p.parent == tmp_path / "png" for p in saved)
    with pytest.raises(DataError, match="no runs in scope"):
        build_report(data_dir, tmp_path / "x.html", since="2999-01-01")


def test_bad_arguments_are_one_line_errors(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="format"):
        build_report(data_dir, tmp_path / "r.pdf", fmt="pdf")
    with pytest.raises(ConfigError, match="directory"):
        build_report(data_dir, tmp_path)
    with pytest.raises(DataError):
        build_report(tmp_path / "empty", tmp_path / "r.html")


def test_cli_errors(data_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["report", "--data-dir", str(tmp_path / "nope")])
    assert res.exit_code == 1 and "error:" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["report", "--data-dir", str(data_dir), "--format", "pdf"])
    assert res.exit_code == 2


def test_report_as_of_a_version_says_so(data_dir: Path, tmp_path: Path) -> None:
    log = DeltaTable(str(data_dir / "runs")).history()
    first_page = min(
        c["version"]
        for c in log
        if c["operation"] in ("WRITE", "MERGE")
        and c.get("operationMetrics", {}).get("num_added_rows")
    )
    out = build_report(data_dir, tmp_path / "then.html", as_of=first_page)
    html = out.read_text(encoding="utf-8")
    assert f"runs table version {first_page} (as of {first_page})" in html
    n = pl.read_delta(str(data_dir / "runs"), version=first_page).height
    assert 0 < n < runs(data_dir).height
    assert f'<div class="v">{n:,}</div><div class="k">runs</div>' in html


def test_one_verdict_per_cell_on_every_surface(tmp_path: Path) -> None:
    """compare_versions, the gate, the version chart's data and the report's chart agree on
    every cell of the mock's data (its agent 101 broke Appointment Booked in 4519 = v3 and
    fixed it in 4588 = v4)."""
    import json

    from cekura_analytics.analysis.release_gate import FAIL, gate, status
    from cekura_analytics.analysis.versions import compare_versions

    d = tmp_path / "d"
    with MockServer(runs=3000, seed=7, api_key="k") as srv:
        extract(d, base_url=srv.base_url, api_key="k", quiet=True)
    cmp = compare_versions(d)
    assert cmp.height >= 5 and set(cmp["verdict"]) <= {"worse", "better", "no difference",
                                                       "insufficient"}  # fmt: skip
    want = {r["metric_name"]: r["verdict"] for r in cmp.iter_rows(named=True)}
    fails = {r["metric_name"] for r in cmp.iter_rows(named=True) if r["fails_gate"]}
    agent, base, cand = cmp["agent_id"][0], cmp["baseline"][0], cmp["candidate"][0]
    result = gate(d, agent, baseline=base, candidate=cand)
    assert {c.name: c.verdict.verdict for c in result.cells} == want
    assert {c.name for c in result.cells if status(c) == FAIL} == fails
    chart_rows = ch.version_comparison(cmp).to_dict()["datasets"]
    (rows,) = chart_rows.values()
    assert {r["metric_name"]: r["verdict"] for r in rows} == want
    page = build_report(d, tmp_path / "r.html").read_text(encoding="utf-8")
    spec = re.search(r'id="spec-versions">(.*?)</script>', page, re.S)
    assert spec is not None
    (drawn,) = json.loads(spec.group(1))["datasets"].values()
    assert {r["metric_name"]: r["verdict"] for r in drawn} == want
    assert {r["metric_name"] for r in drawn if r["gate"]} == fails


def test_the_report_leads_with_the_answer(html: str) -> None:
    """First the answer (what got worse, where it fails, how, what to do), then a table of
    contents whose every link has its target, then the numbers and the charts."""
    answer = html.index('<section class="answer"')
    assert answer < html.index('<nav class="toc"') < html.index('id="numbers"')
    block = html[answer : html.index('<nav class="toc"')]
    for heading in ("What got worse", "Where it fails most", "How it fails", "What to do next"):
        assert heading in block
    assert block.count("<li>") >= 2
    for target in re.findall(r'<a href="#([\w-]+)">', html):
        assert f'id="{target}"' in html, target


def test_outlier_runs_are_taken_in_turn_from_each_kind_of_reason(data_dir: Path) -> None:
    from cekura_analytics.present.document import _outliers
    from cekura_analytics.warehouse.connection import connect

    con = connect(data_dir)
    try:
        every = con.sql("select split_part(reasons[1], ' ', 1) as k from outlier_runs").pl()
        picked = _outliers(con, {"since": None, "agent_id": None}, 6)
    finally:
        con.close()
    kinds = set(every["k"])
    assert len(kinds) >= 2  # the mock has surprising failures, low scores and long runs
    per_kind = picked["reason_kind"].value_counts()["count"].to_list()
    assert max(per_kind) - min(per_kind) <= 1 and set(picked["reason_kind"]) == kinds


def test_every_agent_gets_its_version_chart_and_the_trend_one_agent(
    html: str, data_dir: Path
) -> None:
    """The version comparison was drawn for the busiest agent only, and the trend mixed three
    agents' version rules: now one chart per agent with two versions (each with intervals and
    n), and the trend follows one agent (the busiest) and says which."""
    from cekura_analytics.warehouse.connection import query

    two = query(
        data_dir,
        "select agent_id, sum(n) as n from (select agent_id, agent_version, count(*) as n"
        " from metric_results where agent_version is not null group by all)"
        " group by agent_id having count(*) >= 2 order by n desc, agent_id",
    )["agent_id"].to_list()
    assert len(two) >= 2  # the mock's agents each ship versions
    titles = re.findall(r"Agent (\d+): version \S+ → \S+<", html)
    assert [int(a) for a in dict.fromkeys(titles)] == two  # the busiest first
    assert re.search(r'"label_b": "[\d.]+ % \[[\d.]+ – [\d.]+ %\] n=[\d,]+ \(\d+\)"', html)
    assert f"Trend (agent {two[0]})" in html
