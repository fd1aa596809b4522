"""``make demo``: the whole toolkit end to end against the embedded mock Cekura.

Extract → views (pass rates with intervals, worst cells) → failure modes → outliers →
improve-prompt jobs → offline HTML report. Needs no API key and no network beyond 127.0.0.1.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import click
import polars as pl

from .analysis.modes import failure_modes
from .analysis.outlier_runs import outliers
from .errors import ConfigError, DataError
from .improve import ledger as lg
from .improve.jobs import improve_collect, improve_launch, read_prompt
from .lake.sync import extract
from .present.document import report
from .present.text import count, extract_summary, interval, pct, text_table
from .warehouse.connection import connect, fetch

#: files shipped in the package (setuptools installs package data as plain files)
_SAMPLES = Path(__file__).with_name("samples")
#: the agent prompt the demo and the notebooks improve
SAMPLE_PROMPT = _SAMPLES / "sample_prompt.txt"
#: pass rules for the mock's numeric metrics, used by the demo
DEMO_RULES = _SAMPLES / "demo-rules.toml"
DEMO_KEY = "demo-key"
MARKER = ".cekura-demo"  # only a directory carrying this marker is ever wiped by the demo


def _fresh_dir(data_dir: Path) -> None:
    """Start from an empty demo directory, refusing to wipe one the demo did not create."""
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise ConfigError(
                f"{data_dir} is not empty and was not made by the demo: pass another --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("made by `cekura-analytics demo`; safe to delete\n")


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def demo(data_dir: str | Path = "data/demo", *, runs: int = 20_000, seed: int = 7) -> Path:
    """Run the whole toolkit on a seeded mock; print findings; return the report's path."""
    # the mock needs the [mock] extra: imported here, so a plain install loads this module
    from .mock.process import mock_process, need_mock_extra

    need_mock_extra()
    from .mock.history import record_improve_history

    started = time.monotonic()
    data_dir = Path(data_dir)
    _fresh_dir(data_dir)
    shutil.copy(DEMO_RULES, data_dir / "cekura-analytics.toml")
    with mock_process(runs, seed, DEMO_KEY) as base_url:
        _step(f"extract: mock Cekura with {runs:,} runs at {base_url}")
        synced = extract(data_dir, base_url=base_url, api_key=DEMO_KEY)
        click.echo(extract_summary(synced))
        _step("where does the agent fail? (95 % intervals clustered by scenario)")
        click.echo(summary(data_dir))
        _step("how does it fail? failure modes per metric")
        click.echo(modes(data_dir))
        # the jobs a team ran while the mock's broken version was live, for `improve impact`
        record_improve_history(data_dir)
        _step("improve-prompt jobs for the top outlier runs that failed a metric")
        click.echo(improve_jobs(data_dir, base_url, DEMO_KEY))
    _step("report")
    path = report(data_dir, data_dir / "report.html")
    click.echo(f"offline HTML report: {path.resolve()}")
    click.secho(f"\ndemo finished in {time.monotonic() - started:.1f} s", bold=True)
    return path


def summary(
    data_dir: str | Path, *, rules: str | Path | None = None, top: int = 10, worst: int = 5
) -> str:
    """What ``make demo`` prints: the top of ``pass_rates_by_metric`` (lowest pass rate
    first) and the ``worst`` personality × language cells (lowest upper bound first)."""

    con = connect(data_dir, rules)
    try:
        metrics = fetch(
            con,
            "select * from pass_rates_by_metric"
            " order by pass_rate asc nulls last, metric_name limit $top",
            {"top": top},
        )
        cells = fetch(
            con,
            "select * from pass_rates_by_personality_language where n_evaluated > 0"
            " order by ci_high, pass_rate, personality_name, scenario_language limit $worst",
            {"worst": worst},
        )
    finally:
        con.close()
    lines = [f"Pass rate by metric, lowest first (95 % interval clustered by scenario; top {top})"]
    if metrics.is_empty():
        lines.append("  no metric results yet")
    else:
        rows = [
            [
                str(r["metric_name"] or f"metric {r['metric_id']}"),
                count(r["n_evaluated"], r["n_scenarios"]),
                pct(r["pass_rate"]),
                interval(r["ci_low"], r["ci_high"]),
                str(r["n_unknown"]),
            ]
            for r in metrics.iter_rows(named=True)
        ]
        lines += text_table(
            ["metric", "runs (scenarios)", "pass", "95 % interval", "unknown"], rows, {1, 2, 4}
        )
    lines += ["", f"{worst} worst personality × language cells (lowest upper bound first)"]
    if cells.is_empty():
        lines.append("  no evaluated metric results yet")
    else:
        rows = [
            [
                str(r["personality_name"] or f"personality {r['personality_id']}"),
                str(r["scenario_language"] or "?"),
                count(r["n_evaluated"], r["n_scenarios"]),
                pct(r["pass_rate"]),
                interval(r["ci_low"], r["ci_high"]),
            ]
            for r in cells.iter_rows(named=True)
        ]
        lines += text_table(
            ["personality", "language", "runs (scenarios)", "pass", "95 % interval"], rows, {2, 3}
        )
    return "\n".join(lines)


def modes(data_dir: str | Path, top: int = 3) -> str:
    """What ``make demo`` prints after the pass rates: each metric's top failure modes with
    their share of the metric's failed results and its 95 % interval."""
    try:
        df = failure_modes(data_dir).filter(pl.col("mode_rank") <= top)
    except ConfigError as exc:  # scikit-learn missing: the demo goes on without modes
        return f"  skipped: {exc}"
    rows = [
        [r["metric_name"] or "", f"#{r['mode_rank']}", r["label"], f"{r['n_failed']:,}",
         f"{r['n_metric_failed']:,}", pct(r["share"]),
         interval(r['share_ci_low'], r['share_ci_high'])]
        for r in df.iter_rows(named=True)
    ]  # fmt: skip
    if not rows:
        return "  no failed results with an explanation"
    heads = ["metric", "rank", "mode", "failed", "of", "share", "95 % CI"]
    return "\n".join(text_table(heads, rows, right={3, 4, 5, 6}))


def improve_jobs(data_dir: str | Path, base_url: str, api_key: str, top: int = 5) -> str:
    """Launch jobs for the busiest agent's top ``top`` outlier runs of its current version that
    failed a metric, with the sample prompt; collect; summarise."""
    prompt = read_prompt(SAMPLE_PROMPT)
    busiest = fetch_one(
        data_dir, "select agent_id from run_details group by 1 order by count(*) desc, 1 limit 1"
    )
    if busiest is None:
        return "no runs, so no improve-prompt jobs were launched"
    kw: dict[str, Any] = {"base_url": base_url, "api_key": api_key}
    try:
        launched = improve_launch(data_dir, None, prompt, agent_id=busiest, outliers=top, **kw)
    except DataError as exc:  # no outlier run of that version failed a metric
        return f"no improve-prompt jobs: {exc}"
    improve_collect(data_dir, timeout=120, poll=0.5, max_poll=5, quiet=True, **kw)
    picked = launched["run_id"].to_list()
    sha = lg.sha256_text(prompt)
    jobs = {r["run_id"]: r for r in lg.read_ledger(data_dir).iter_rows(named=True)
            if r["prompt_sha256"] == sha}  # fmt: skip
    failed = {r["run_id"]: r["failed_metrics"] for r in outliers(data_dir, limit=None)
              .filter(pl.col("run_id").is_in(picked)).iter_rows(named=True)}  # fmt: skip
    lines = [
        f"improve-prompt jobs for agent {busiest}'s top {len(picked)} outlier runs of its current "
        f"version that failed a metric ({SAMPLE_PROMPT.name}):"
    ]
    for rid in picked:
        job = jobs[rid]
        lines.append(f"- run {rid}: {job['status']}; failed metrics: {', '.join(failed[rid])}")
        note = job["summary_of_changes"] or job["error"] or job["message"] or ""
        lines += [f"    {ln}" for ln in note.splitlines()]
    lines.append(f"diffs: cekura-analytics improve show --data-dir {data_dir}")
    return "\n".join(lines)


def fetch_one(data_dir: str | Path, statement: str) -> Any:
    """The first value of a one-row statement over the views (None without rows)."""
    con = connect(data_dir)
    try:
        row = con.execute(statement).fetchone()
    finally:
        con.close()
    return None if row is None else row[0]
