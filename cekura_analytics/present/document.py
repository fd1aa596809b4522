"""One self-contained report of an extracted data dir: HTML (offline) or Markdown + PNGs.

The HTML file carries the Vega, Vega-Lite and Vega-Embed JavaScript inline (from
vl-convert), so it opens anywhere without a network. Text from the API (names, reasons,
transcripts, prompts) is untrusted: the template autoescapes, chart specs are embedded as
JSON with ``<``, ``>`` and ``&`` escaped, and a Content-Security-Policy lets only the
report's own nonce-tagged scripts run.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import os
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
from markupsafe import Markup

from .._version import __version__
from ..analysis.modes import modes_view, modes_weekly
from ..analysis.rates import (
    last_day,
    pass_rates_sql,
    run_durations,
    scoped_source,
    version_changes,
)
from ..analysis.versions import VersionComparison, agent_versions, compare
from ..errors import CekuraError, ConfigError, DataError
from ..improve.impact import improve_impact
from ..lake.store import Store
from ..scope import Scope, check_agent, scope_sql
from ..warehouse.connection import fetch, opened
from ..warehouse.families import counted_columns
from . import charts as ch
from .markdown import render_markdown
from .mode_charts import failure_mode_chart
from .quality import flaky_section, trust_section
from .text import change_text, count, impact_rows, interval, pct, side

FORMATS = ("html", "md")
#: the agents whose latest versions the report compares, the busiest first
MAX_AGENTS = 5
#: the rate tables the report shows (the trend's grain is chosen from the runs' span)
RATE_GROUPS = (("metric",), ("metric", "personality"), ("metric", "language"))
EXCERPT_CHARS = 1200


@functools.lru_cache(maxsize=1)
def vega_javascript() -> str:
    """Vega + Vega-Lite + Vega-Embed as one script (≈0.9 MB), matching altair's Vega-Lite.

    vl-convert needs seconds to bundle it, so the result is kept in the user's cache dir,
    keyed by the vl-convert and Vega-Lite versions.
    """
    import vl_convert as vlc
    from altair.utils._importers import vl_version_for_vl_convert

    vl_version = vl_version_for_vl_convert()
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = f"vega-{metadata.version('vl-convert-python')}-vl{vl_version}.js"
    cached = cache_root / "cekura-analytics" / tag
    try:
        return cached.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle: Any = vlc.javascript_bundle  # its stub wrongly makes `snippet` mandatory
    js: str = bundle(vl_version=vl_version)
    # Inside <script>, only "</script" (any case) could end the element early.
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        tmp.write_text(js, encoding="utf-8")
        tmp.replace(cached)
    except OSError:
        pass  # a read-only home only costs the bundling time next run
    return js


def json_script(value: Any) -> Markup:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&`` and ``'`` become ``\\u00XX``."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
    for ch_, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(ch_, esc)
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cekura_analytics.present", "templates"),
        autoescape=True,  # always, whatever the template's file name
        undefined=jinja2.StrictUndefined,
    )
    env.filters["json_script"] = json_script
    return env


def _freshness(data_dir: str | Path, as_of: bool) -> tuple[str, str]:
    """When the last sync finished, and the newest run watermark, from the sync state (the
    latest one: a report ``--as-of`` an earlier version says so in its snapshot line)."""
    if as_of:
        return "see the snapshot line (--as-of)", ""
    try:
        state = Store(data_dir).state
    except CekuraError:
        return "unknown", ""
    finished = (state.last_sync or {}).get("finished_at") or "unknown"
    marks = [str(s["watermark"]) for s in state.scopes.values() if s.get("watermark")]
    return str(finished)[:19].replace("T", " "), (f"runs up to {max(marks)[:19]}" if marks else "")


def _snapshot_note(con: Any) -> str:
    """Which table version the report was built from (and the --as-of that chose it)."""
    row = fetch(con, "select version, as_of from table_versions where table_name = 'runs'")
    if row.is_empty() or row["version"][0] is None:
        return "no runs table"
    as_of = row["as_of"][0]
    return f"runs table version {row['version'][0]}" + (f" (as of {as_of})" if as_of else "")


def _headline(
    con: Any, data_dir: str | Path, params: dict[str, Any], as_of: bool
) -> list[dict[str, str]]:

    runs = fetch(
        con,
        "select count(*) as n, min(timestamp) as t0, max(timestamp) as t1,"
        " count_if(success) as ok, count(success) as judged"
        f" from run_details where {scope_sql()}",
        params,
    ).row(0, named=True)
    source, where = scoped_source(("metric",), timed=params["since"] is not None)
    m = fetch(
        con,
        # per scenario, then over them: the overall rate's interval is clustered by scenario
        f"with s as (select scenario_id, {', '.join(counted_columns(source))}"
        f" from {source.relation} where {where} group by scenario_id),"
        " t as (select sum(k) as k, sum(n) as n, sum(u) as unknown, sum(k * k) as kk,"
        " sum(k * n) as kn, sum(n * n) as nn, count(*) filter (where n > 0) as c from s),"
        # the quantile and design effect once (see clustered_low_qd: cheaper to bind)
        " e as (select *, cluster_quantile(c) as q, design_effect(k, n, kk, kn, nn, c) as d"
        " from t)"
        f" select (select count(distinct metric_id) from {source.relation}"
        f" where {where}) as metrics, k, n, unknown, c,"
        " clustered_low_qd(k, n, q, d) as lo, clustered_high_qd(k, n, q, d) as hi"
        " from e",
        params,
    ).row(0, named=True)
    if not runs["n"]:  # name only the options that were given (an --as-of alone: say that)
        given = [("widen --since", params["since"]), ("check --agent-id", params["agent_id"]),
                 ("give a later --as-of", as_of or None)]  # fmt: skip
        raise DataError("no runs in scope: " + (" or ".join(w for w, v in given if v) or "none"))
    rate = m["k"] / m["n"] if m["n"] else None
    fresh, mark = _freshness(data_dir, as_of)
    period = "–" if runs["t0"] is None else f"{runs['t0']:%Y-%m-%d} → {runs['t1']:%Y-%m-%d}"
    success = runs["ok"] / runs["judged"] if runs["judged"] else None
    return [
        {"label": "runs", "value": f"{runs['n']:,}", "note": f"run success {pct(success)}"},
        {"label": "metrics evaluated", "value": f"{m['metrics']:,}", "note": ""},
        {
            "label": "overall metric pass rate",
            "value": pct(rate),
            "note": f"95 % {interval(m['lo'], m['hi'])} · n {count(m['n'] or 0, m['c'])}"
            f" · {m['unknown'] or 0:,} unknown",
        },
        {"label": "period covered (UTC)", "value": period, "note": ""},
        {"label": "data freshness: last sync (UTC)", "value": fresh, "note": mark},
    ]


def _worst(frames: dict[str, pl.DataFrame], min_n: int, limit: int) -> list[dict[str, str]]:
    rows = []
    for col, label in (("personality_name", "personality"), ("scenario_language", "language")):
        df = frames.get(col)
        if df is None:
            continue
        for r in df.filter(pl.col("n_evaluated") >= min_n).iter_rows(named=True):
            rows.append((r["ci_high"], r, f"{label}: {r[col]}"))
    rows.sort(key=lambda t: (t[0], t[1]["pass_rate"]))
    return [
        {
            "metric": str(r["metric_name"]),
            "where": where,
            "rate": pct(r["pass_rate"]),
            "interval": interval(r["ci_low"], r["ci_high"]),
            "n": count(r["n_evaluated"], r.get("n_scenarios")),
        }
        for _, r, where in rows[:limit]
    ]


def _outliers(con: Any, params: dict[str, Any], limit: int) -> pl.DataFrame:
    """Top outlier runs in scope (view ``outlier_runs``), with scenario, persona, transcript,
    taken in turn from each kind of reason (a surprising failure, a low score, a long run), so
    one cluster of, say, stuck calls cannot fill the list."""
    ranked = fetch(
        con,
        "select o.run_id, o.outlier_score, o.reasons, o.failed_metrics, d.scenario_name,"
        " d.personality_name, d.agent_version, d.timestamp,"
        " split_part(o.reasons[1], ' ', 1) as reason_kind"
        " from outlier_runs o join run_details d using (run_id)"
        f" where {scope_sql('d.')} order by o.outlier_score desc, o.run_id limit $limit",
        {**params, "limit": 20 * limit},
    )
    if ranked.is_empty():
        return ranked.with_columns(transcript=pl.lit(None, pl.String))
    picked = ranked.with_columns(turn=pl.int_range(pl.len()).over("reason_kind"))
    top = picked.sort("turn", pl.col("outlier_score"), descending=[False, True]).head(limit)
    # the transcripts of the runs shown only: joined before the limit, every run's was read
    texts = fetch(
        con,
        "select run_id, transcript from stg_runs where list_contains($ids, run_id)",
        {"ids": top["run_id"].to_list()},
    )
    return top.join(texts, on="run_id", how="left", maintain_order="left")


def _comparisons(con: Any, agent_id: Any) -> list[VersionComparison]:
    """The latest version against the one before, for ``agent_id`` or every agent with two
    versions (the busiest first)."""
    versions = agent_versions(con, agent_id)
    counts = versions.group_by("agent_id").agg(pl.len().alias("n"), pl.col("n_results").sum())
    agents = counts.filter(pl.col("n") >= 2).sort("n_results", descending=True)["agent_id"]
    out = []
    for agent in agents.to_list()[:MAX_AGENTS]:
        with contextlib.suppress(DataError):
            out.append(compare(con, int(agent)))
    return out


def _trend_grain(con: Any, params: dict[str, Any]) -> tuple[str, Any]:
    """Days for up to 45 days of runs in scope, else weeks; and the last day with runs."""
    first, last = fetch(
        con, f"select min(day), max(day) from run_details where {scope_sql()}", params
    ).row(0)
    span = (last - first).days if first is not None else 0
    return ("day" if span <= 45 else "week"), last


def _answer(
    comparisons: list[VersionComparison],
    worst: list[dict[str, str]],
    modes: pl.DataFrame,
    headline: list[dict[str, str]],
    flaky: dict[str, Any] | None = None,
    trust: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report's first screen: what got worse, the worst cells, how metrics fail, and what
    to do next — each line from a computation shown in full further down."""
    worse, better = [], []
    for c in comparisons:
        for cell in c.cells:
            line = {
                "agent": str(c.agent_id),
                "versions": f"{c.baseline} → {c.candidate}",
                "cell": cell.name,
                "before": side(cell, "baseline"),
                "after": side(cell, "candidate"),
                "change": change_text(cell),
                "gate": ("fails the gate" if cell.verdict.fails_gate else "")
                + (" · mostly in flaky scenarios: rerun them" if cell.mostly_flaky else ""),
            }
            if cell.verdict.verdict == "worse":
                worse.append(line)
            elif cell.verdict.verdict == "better":
                better.append(line)
    top = modes.sort("n_failed", descending=True).head(3)
    biggest = [
        {"metric": r["metric_name"] or f"metric {r['metric_id']}", "label": r["label"],
         "n": f"{r['n_failed']:,} of {r['n_metric_failed']:,}", "share": pct(r["share"])}
        for r in top.iter_rows(named=True)
    ]  # fmt: skip
    todo = []
    for w in worse[:3]:
        verb = "Hold or roll back" if w["gate"].startswith("fails") else "Watch"
        todo.append(
            f"{verb} agent {w['agent']}'s {w['versions'].split(' → ')[1]}: {w['cell']} got worse "
            f"({w['change']}). Read its failure modes and outlier runs below, then "
            f"`cekura-analytics improve launch --per-mode 1 --agent-id {w['agent']} "
            "--prompt-file PROMPT`."
        )
    if worst:
        w0 = worst[0]
        todo.append(
            f"Fix {w0['metric']} for {w0['where']}: {w0['rate']} [{w0['interval']}], the "
            "lowest upper bound of any cell."
        )
    unknown = next((t for t in headline if t["label"] == "overall metric pass rate"), None)
    if unknown and " 0 unknown" not in unknown["note"]:
        todo.append(
            "Some results are 'unknown' (no pass rule applies): give their numeric or enum "
            "metrics a threshold or a pass-set in cekura-analytics.toml (see the README, "
            "'The rules file')."
        )
    if flaky and flaky.get("n_flaky"):
        todo.append(
            f"{flaky['n_flaky']:,} of {flaky['n_cells']:,} scenario × metric × version cells "
            "flip between runs: rerun a flaky scenario before blaming a change (see 'Flaky "
            "scenarios')."
        )
    rows = (trust or {}).get("metrics", {}).get("rows") or []
    if rows:  # the least trusted metric first
        metric, overturned = rows[0][0], rows[0][1]  # "38.7 % [35.5 – 42.1 %] 321 of 829"
        share, _, counted = str(overturned).partition("] ")
        todo.append(
            f"Read {metric}'s failures with care: reviewers overturned {counted} of the failures "
            f"they checked ({share}]; see 'How far to trust each metric')."
        )
    if modes.is_empty():
        todo.append("Run `cekura-analytics failure-modes` to see how each metric fails.")
    if not comparisons:
        todo.append("Run a second agent version to compare: no agent has two yet.")
    return {"worse": worse, "better": better, "worst": worst[:3], "modes": biggest, "todo": todo}


def _mode_rows(modes: pl.DataFrame, top: int = 3) -> list[dict[str, str]]:
    """The top modes of each failing metric, with one example explanation (escaped later)."""
    out = []
    for r in modes.filter(pl.col("mode_rank") <= top).sort("metric_id", "mode_rank").to_dicts():
        out.append(
            {
                "metric": r["metric_name"] or f"metric {r['metric_id']}",
                "label": r["label"],
                "n": f"{r['n_failed']} of {r['n_metric_failed']}",
                "share": pct(r["share"]),
                "interval": interval(r["share_ci_low"], r["share_ci_high"]),
                "example": (r["example_explanation"] or "").strip(),
                "example_run_id": str(r["example_run_id"]),
            }
        )
    return out


def _excerpt(text: str | None) -> str:
    if not text:
        return ""
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS].rstrip() + "\n…"


def _diff_class(line: str) -> str:
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "")


def _suggestions(con: Any, agent_id: Any, limit: int) -> list[dict[str, Any]]:
    """Finished improve jobs that produced a new text, with a line diff current → suggested."""
    jobs = fetch(
        con,
        "select * from improve_jobs where status = 'completed' and improved_prompt is not null"
        " and ($agent_id is null or agent_id = cast($agent_id as bigint))",
        {"agent_id": agent_id},
    )
    out = []
    for j in jobs.sort("finished_at", descending=True).head(limit).iter_rows(named=True):
        old, new = (j["prompt"] or "").splitlines(), (j["improved_prompt"] or "").splitlines()
        diff = list(difflib.unified_diff(old, new, "current", "suggested", lineterm="", n=2))
        target = f"run {j['run_id']}" if j["run_id"] is not None else f"scenario {j['scenario_id']}"
        out.append(
            {
                "kind": "prompt" if j["kind"] == "prompt" else "instructions",
                "target": target,
                "finished": ""
                if j["finished_at"] is None
                else f"{j['finished_at']:%Y-%m-%d %H:%M}",
                "summary": j["summary_of_changes"] or "",
                "diff": [{"cls": _diff_class(ln), "text": ln + "\n"} for ln in diff[2:]],
                "diff_text": "\n".join(diff),
            }
        )
    return out


def _chart(key: str, title: str, make: Callable[[], Any]) -> dict[str, Any]:
    """One chart entry; a chart the data cannot feed becomes a note, not a failed report."""
    try:
        return {"key": key, "title": title, "chart": make(), "note": ""}
    except DataError as exc:
        return {"key": key, "title": title, "chart": None, "note": str(exc)}


def _collect(
    data_dir: str | Path,
    since: Any,
    agent_id: Any,
    rules: Any,
    limits: tuple[int, int, int],
    min_n: int,
    as_of: Any = None,
) -> dict[str, Any]:
    """Everything the templates show, as plain values and altair charts."""

    n_worst, n_outliers, n_jobs = limits
    scoped = Scope.of(since, agent_id)
    params = scoped.params()
    scope = {"since": since, "agent_id": agent_id}
    # one connection, one snapshot: every number below comes from the same committed version
    with opened(data_dir, rules, as_of=as_of) as con:
        check_agent(con, scoped.agent_id)  # an unknown agent: say so
        snapshot = _snapshot_note(con)
        headline = _headline(con, data_dir, params, as_of is not None)
        # the twins' SQL on this one connection: same numbers as analysis.pass_rates
        rates = {by: fetch(con, pass_rates_sql(by, scoped), params) for by in RATE_GROUPS}
        durations = run_durations(con, **scope)
        outliers = _outliers(con, params, n_outliers)
        modes = modes_view(con).filter(pl.col("n_failed") > 0)
        weekly = modes_weekly(con)
        modes_through = last_day(con)  # the modes are all agents', all time: so is their week
        suggestions = _suggestions(con, agent_id, n_jobs)
        impact = impact_rows(improve_impact(con, agent_id=agent_id))
        flaky, trust = flaky_section(con, **scope), trust_section(con, **scope)
        # every agent's latest version against the one before, all time: the one comparison,
        # whose verdicts the charts draw and the summary states (the busiest agent first)
        comparisons = _comparisons(con, agent_id)
        main = comparisons[0].agent_id if comparisons else agent_id
        # the trend follows one agent, so its version rules belong to the line they cross
        freq, through = _trend_grain(con, params)
        agent_rates = fetch(
            con, pass_rates_sql((freq, "metric"), scoped), {**params, "agent_id": main}
        )
        changes = version_changes(con, since=since, agent_id=main)
    by_pers, by_lang = rates[("metric", "personality")], rates[("metric", "language")]
    worst = _worst({"personality_name": by_pers, "scenario_language": by_lang}, min_n, n_worst)
    who = f"agent {main}" if main is not None else "all agents"
    charts = [
        _chart(
            "by_metric", "Pass rate per metric", lambda: ch.pass_rate_by_metric(rates[("metric",)])
        ),
        _chart(
            "metric_personality",
            "Metric × personality",
            lambda: ch.metric_personality_heatmap(by_pers, min_n=min_n),
        ),
        _chart(
            "metric_language",
            "Metric × language",
            lambda: ch.metric_language_heatmap(by_lang, min_n=min_n),
        ),
        _chart(
            "trend",
            f"Trend ({who})",
            lambda: ch.trend(
                agent_rates, freq=freq, versions=changes, through=through, subtitle=who
            ),
        ),
        *[
            _chart(
                "versions" if i == 0 else f"versions_{c.agent_id}",
                f"Agent {c.agent_id}: version {c.baseline} → {c.candidate}",
                functools.partial(ch.version_comparison, c.frame()),
            )
            for i, c in enumerate(comparisons)
        ],
        _chart("durations", "Run duration", lambda: ch.duration_distribution(durations)),
        _chart("outliers", "Outlier runs", lambda: ch.outlier_table(outliers)),
        _chart(
            "failure_modes",
            "Failure modes",
            lambda: failure_mode_chart(modes, weekly, through=modes_through),
        ),
        _chart("flaky", "Flaky scenarios per metric", flaky["chart"]),
        _chart("trust", "Overturned failures and corrected pass rates", trust["chart"]),
    ]
    if not comparisons:
        note = "no agent has two versions with results yet"
        charts.insert(4, {"key": "versions", "title": "Versions", "chart": None, "note": note})
    rows = []
    for r in outliers.iter_rows(named=True):
        rows.append(
            {
                "run_id": r["run_id"],
                "score": f"{r['outlier_score']:.2f}",
                "scenario": r["scenario_name"] or "scenario ?",
                "personality": r["personality_name"] or "personality ?",
                "version": r["agent_version"] or "",
                "when": "" if r["timestamp"] is None else f"{r['timestamp']:%Y-%m-%d %H:%M} UTC",
                "reasons": list(r["reasons"] or []),
                "failed": list(r.get("failed_metrics") or []),
                "excerpt": _excerpt(r["transcript"]),
            }
        )
    return {
        "title": "Cekura analytics report",
        "scope": str(Scope.of(since, agent_id)),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "snapshot": snapshot,
        "headline": headline,
        "charts": charts,
        "worst": worst,
        "answer": _answer(comparisons, worst, modes, headline, flaky, trust),
        "min_n": min_n,
        "outliers": rows,
        "modes": _mode_rows(modes),
        "suggestions": suggestions,
        "impact": impact,
        "flaky": flaky,
        "trust": trust,
        "data_dir_name": str(data_dir).rstrip("/").rsplit("/", 1)[-1],
        "version": __version__,
    }


def _save_pngs(charts: list[dict[str, Any]], png_dir: Path) -> dict[str, Path]:
    png_dir.mkdir(parents=True, exist_ok=True)
    return {
        c["key"]: ch.save_chart(c["chart"], png_dir / f"{c['key']}.png")
        for c in charts
        if c["chart"] is not None
    }


def report(
    data_dir: str | Path,
    out: str | Path | None = None,
    *,
    since: str | None = None,
    agent_id: int | None = None,
    png_dir: str | Path | None = None,
    fmt: str = "html",
    rules: str | Path | None = None,
    min_n: int = 10,
    worst: int = 10,
    outliers: int = 10,
    jobs: int = 10,
    as_of: str | int | datetime | None = None,
) -> Path:
    """Write the report of ``data_dir`` to ``out`` (default ``<data_dir>/report.<fmt>``),
    from the latest snapshot or the one ``as_of`` names (a runs version or a timestamp).

    ``fmt="html"``: one self-contained file; ``png_dir`` also gets each chart as PNG.
    ``fmt="md"``: Markdown with PNG charts in ``png_dir`` (default ``<out stem>_charts/``).
    Returns the path written.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r}: use html or md")
    Scope.of(since, agent_id)  # bad input fails before anything is read
    from ..lake.store import is_remote

    if out is None and is_remote(data_dir):
        raise ConfigError("the data dir is on object storage: give --out FILE for the report")
    out = Path(out) if out is not None else Path(data_dir) / f"report.{fmt}"
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory: give a file name such as report.{fmt}")
    out.parent.mkdir(parents=True, exist_ok=True)
    ctx = _collect(data_dir, since, agent_id, rules, (worst, outliers, jobs), min_n, as_of)
    if fmt == "md":
        pngs = _save_pngs(
            ctx["charts"], Path(png_dir) if png_dir else out.with_name(f"{out.stem}_charts")
        )
        text = render_markdown(ctx, pngs, out.parent)
    else:
        if png_dir is not None:
            _save_pngs(ctx["charts"], Path(png_dir))
        for c in ctx["charts"]:
            # test_charts validates every chart against the schema; skip the 1 s re-check here
            c["spec"] = None if c["chart"] is None else c["chart"].to_dict(validate=False)
        text = (
            _env()
            .get_template("report.html.j2")
            .render(**ctx, nonce=secrets.token_urlsafe(16), vega_js=Markup(vega_javascript()))
        )
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)  # readers never see a half-written report
    return out


__all__ = ["FORMATS", "json_script", "report", "vega_javascript"]
