"""Numbers and results as text: every rate, interval, p-value and summary a person reads.

One definition of each format, called by the CLI, the demo, the Markdown/JUnit/HTML outputs
and the charts' tooltips: ``pct(0.853)`` is ``"85.3 %"`` everywhere.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from ..analysis.release_gate import GateResult
    from ..analysis.versions import Cell
    from ..lake.maintenance import OptimizeSummary
    from ..lake.overview import Status
    from ..lake.sync import ExtractSummary

MISSING = "–"

#: characters that move a terminal's cursor, end an XML document or stop an SVG renderer:
#: C0 controls but tab, newline and return; DEL and the C1 controls; XML's non-characters
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ESC -> ␛, NUL -> ␀
    return "\u2421" if code == 0x7F else "\ufffd"


def visible(value: object) -> str:
    """Untrusted text with its control characters shown as pictures (ESC -> ␛): a name from
    the API can then neither drive a terminal, nor break XML, SVG or a chart."""
    return _CONTROL.sub(_picture, str(value))


#: what :func:`visible` replaces, for the vectorised :func:`visible_expr`
_PICTURES = {
    chr(c): _CONTROL.sub(_picture, chr(c))
    for c in [*range(0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF]
    if _CONTROL.match(chr(c))
}


def visible_expr(expr: pl.Expr) -> pl.Expr:
    """:func:`visible` as a polars expression over a string column."""
    return expr.str.replace_many(list(_PICTURES), list(_PICTURES.values()))


def visible_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Every text cell of ``df`` (lists of text included) made :func:`visible`."""
    return df.with_columns(
        [visible_expr(pl.col(c)) for c, t in df.schema.items() if t == pl.String]
        + [
            pl.col(c).list.eval(visible_expr(pl.element()))
            for c, t in df.schema.items()
            if isinstance(t, pl.List) and t.inner == pl.String
        ]
    )


def chart_title(value: object) -> str:
    """Untrusted text for a chart's titles: :func:`visible`, and ``\\`` shown as ``∖``
    (Vega compiles tooltip titles into expressions, where a backslash escapes)."""
    return visible(value).replace("\\", "\u2216")


# -- numbers -----------------------------------------------------------------------------------
def pct(rate: float | None) -> str:
    """A rate as people read it: ``0.853`` -> ``"85.3 %"``, missing -> ``"–"``."""
    if rate is None or rate != rate:  # None or NaN
        return MISSING
    return f"{100 * rate:.1f} %"


def pct_expr(column: str) -> pl.Expr:
    """:func:`pct` as a polars expression (for tooltips computed on a whole frame)."""
    return (pl.col(column) * 100).round(1).cast(pl.String) + " %"


def rate_text_expr(rate: str, low: str, high: str, n: str, n_scenarios: str) -> pl.Expr:
    """:func:`rate_cell` as a polars expression over a frame's columns."""
    return (
        pct_expr(rate)
        + " ["
        + pct_expr(low).str.replace(" %", "")
        + " – "
        + pct_expr(high)
        + "] n="
        + pl.col(n).cast(pl.String)
        + " ("
        + pl.col(n_scenarios).cast(pl.String)
        + ")"
    )


def interval(low: float | None, high: float | None) -> str:
    """A 95 % interval: ``"80.1 – 88.0 %"`` (missing -> ``"–"``)."""
    if low is None or high is None or low != low or high != high:
        return MISSING
    return f"{100 * low:.1f} – {100 * high:.1f} %"


def points(change: float | None, *, signed: bool = True) -> str:
    """A change of rate in percentage points: ``-0.052`` -> ``"-5.2 pts"`` (``"5.2 pts"``
    unsigned)."""
    if change is None or change != change:
        return MISSING
    return f"{100 * change:+.1f} pts" if signed else f"{100 * change:.1f} pts"


def p_value(p: float | None) -> str:
    """A p-value to three significant digits."""
    return MISSING if p is None or p != p else f"{p:.3g}"


def count(n: int | None, n_scenarios: int | None = None) -> str:
    """A sample size: runs, and the scenarios they came from when known: ``1,614 (12)``."""
    if n is None:
        return MISSING
    return f"{n:,}" if n_scenarios is None else f"{n:,} ({n_scenarios:,})"


def rate_cell(
    rate: float | None,
    low: float | None,
    high: float | None,
    n: int | None,
    n_scenarios: int | None = None,
) -> str:
    """A rate with its interval and n: ``85.3 % [80.1 – 88.0 %] n=1,614 (12)``."""
    return f"{pct(rate)} [{interval(low, high)}] n={count(n, n_scenarios)}"


# -- tables of text ------------------------------------------------------------------------------
def text_table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Aligned columns (``right``: the indexes aligned right), two spaces in front."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def fmt(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  " + "  ".join(parts).rstrip()

    return [fmt(headers), *(fmt(r) for r in rows)]


# -- frames for people (``--format table``; csv, json and parquet keep the raw columns) -----------
def _texts(values: list[str], name: str) -> pl.Series:
    return pl.Series(name, values, dtype=pl.String)


def rates_for_people(df: pl.DataFrame) -> pl.DataFrame:
    """Pass rates as people read them: worst first, the group's names (ids where there is no
    name), the rate and its interval as percents, n as runs (scenarios), unknown apart."""
    df = df.sort("pass_rate", "ci_high", nulls_last=True, maintain_order=True)
    counts = ("n_evaluated", "n_passed", "n_unknown", "n_scenarios", "design_effect")
    stats = (*counts, "pass_rate", "ci_low", "ci_high")
    groups = [
        c for c in df.columns
        if c not in stats and not (c.endswith("_id") and c[:-3] + "_name" in df.columns)
    ]  # fmt: skip
    n_label = "runs (scenarios)" if "metric_id" in df.columns else "results (scenarios)"
    rows = df.iter_rows(named=True)
    cells = [
        (pct(r["pass_rate"]), interval(r["ci_low"], r["ci_high"]),
         count(_int(r["n_evaluated"]), _int(r["n_scenarios"])), count(_int(r["n_unknown"])))
        for r in rows
    ]  # fmt: skip
    return df.select(groups).with_columns(
        _texts([c[0] for c in cells], "pass rate"),
        _texts([c[1] for c in cells], "95 % interval"),
        _texts([c[2] for c in cells], n_label),
        _texts([c[3] for c in cells], "unknown"),
    )


def impact_for_people(df: pl.DataFrame) -> pl.DataFrame:
    """``improve impact`` as a table that fits a terminal: run, metric, each side as
    ``version rate n (scenarios)``, the scenario-matched change with its interval, verdict."""
    out: dict[str, list[Any]] = {k: [] for k in ("run", "metric", "before", "after", "change")}
    for r in df.iter_rows(named=True):
        out["run"].append(r["run_id"])
        out["metric"].append(str(r["metric_name"] or f"metric {r['metric_id']}"))
        for which in ("before", "after"):
            version = r[f"{which}_version"]
            out[which].append(
                "not shipped yet"
                if version is None
                else f"{version}: {pct(r[f'pass_rate_{which}'])} n="
                + count(_int(r[f"n_{which}"]), _int(r[f"n_scenarios_{which}"]))
            )
        change, lo, hi = r["change"], r["ci_low_change"], r["ci_high_change"]
        change = points(change) + ("" if lo is None else f" [{100 * lo:+.1f}, {100 * hi:+.1f}]")
        out["change"].append(change)
    frame = pl.DataFrame(out, schema={"run": pl.Int64, **dict.fromkeys(list(out)[1:], pl.String)})
    return frame.with_columns(df["verdict"].alias("verdict"))


def comparison_for_people(df: pl.DataFrame) -> pl.DataFrame:
    """``compare-versions`` as a table that fits a terminal, worst first: the cell, each side
    as ``version: rate n=runs (scenarios)``, the scenario-matched change with its interval,
    the Holm-corrected p of "worse" and the verdict (the raw frame has 45 columns)."""
    df = df.sort(
        [pl.col("fails_gate"), pl.col("verdict") == "worse", pl.col("change")],
        descending=[True, True, False],
        nulls_last=True,
        maintain_order=True,
    )
    keys = ("metric", "baseline", "candidate", "change", "Holm p (worse)", "verdict")
    out: dict[str, list[str]] = {k: [] for k in keys}
    for r in df.iter_rows(named=True):
        metric = str(r["metric_name"] or f"metric {r['metric_id']}")
        if r.get("dimension_value") is not None:
            metric += f" · {r['dimension_value']}"
        out["metric"].append(metric)
        for which in ("baseline", "candidate"):
            n = count(_int(r[f"n_{which}"]), _int(r[f"n_scenarios_{which}"]))
            out[which].append(f"{r[which]}: {pct(r[f'rate_{which}'])} n={n}")
        lo, hi = r["ci_low_change"], r["ci_high_change"]
        interval_text = "" if lo is None or hi is None else f" [{100 * lo:+.1f}, {100 * hi:+.1f}]"
        out["change"].append(points(r["change"]) + interval_text)
        out["Holm p (worse)"].append(p_value(r["p_holm_worse"]))
        out["verdict"].append(str(r["verdict"]) + (" · fails the gate" if r["fails_gate"] else ""))
    return pl.DataFrame(out, schema=dict.fromkeys(keys, pl.String))


def _int(value: Any) -> int | None:
    """A count from SQL (DuckDB sums arrive as Decimal) as an int."""
    return None if value is None else int(value)


# -- summaries of commands -------------------------------------------------------------------------
def extract_summary(s: ExtractSummary) -> str:
    """What ``extract`` prints: time, window, runs fetched and rows per table."""
    lower, upper = s.window
    lines = [
        f"extracted into {s.data_dir} in {s.elapsed_s:.1f} s "
        f"({s.total_requests} requests{', resumed' if s.resumed else ''})",
        f"  window: {lower or 'beginning'} .. {upper} (API {s.api_version or '?'} reads)",
        f"  runs listed: {s.runs_listed} distinct"
        + (f" ({s.runs_repeated} repeated across pages)" if s.runs_repeated else ""),
        f"  runs fetched: {s.runs_fetched}, already stored: {s.runs_skipped}, "
        f"re-fetched unfinished: {s.pending_refetched}, still unfinished: {s.pending_left}",
    ]
    if s.backfilled_from:
        lines.append(
            f"  backfilled from {s.backfilled_from}: earlier than the previous syncs reached, so "
            "the whole window was listed (stored runs were not fetched again)"
        )
    if s.runs_repaired:
        lines.append(f"  runs fetched again to repair damaged files: {s.runs_repaired}")
    for table, n in sorted(s.rows.items()):
        lines.append(f"  {table:<20} {n:>9,} rows")
    for where, n in sorted(s.shapes.items()):
        lines.append(f"  kept {n} value(s) of an unexpected type: {where} (see extra_json)")
    return "\n".join(lines)


def duckdb_summary(path: Path, data_dir: str | Path) -> str:
    """What ``duckdb`` prints: what the file holds, that it reads the data dir by absolute path
    (so it stays valid only while the data dir does not move), and two ways to open it."""
    data = Path(data_dir).expanduser().resolve()
    peek = f"print(duckdb.connect({str(path)!r}, read_only=True).sql('from pass_rates_by_metric'))"
    return "\n".join(
        [
            f"wrote {path}: every view and table of {data_dir}, as of its latest snapshot",
            f"  its views read the data files under {data} by absolute path: keep the data dir",
            "  where it is, and run this command again after extract, optimize, a rules change,",
            "  or moving the data dir",
            f'  open it with Python\'s duckdb: python -c "import duckdb; {peek}"',
            "  or with the DuckDB command-line shell (not part of the Python package: install",
            f"  it with your system's package manager, e.g. brew install duckdb): duckdb {path}",
        ]
    )


def status_text(s: Status) -> str:
    """What ``status`` prints: where the data came from, the syncs, then one line per table."""
    last = s.last_sync or {}
    lines = [
        f"data dir {s.data_dir}",
        f"  server: {s.server or 'not recorded'}, project(s): "
        f"{', '.join(map(str, s.project_ids)) or 'not recorded'}, API {s.api_version or '?'} reads",
        f"  last sync: {last.get('finished_at') or 'none finished yet'}"
        + (f" ({last.get('scope')}, {last.get('runs_fetched')} runs fetched)" if last else ""),
    ]
    for scope, mark in sorted(s.watermarks.items()):
        lines.append(f"  watermark ({scope}): runs up to {mark}")
    if s.pending_runs:
        lines.append(f"  unfinished runs to fetch again: {s.pending_runs}")
    if s.in_progress:
        ip = s.in_progress
        lines.append(
            f"  a sync stopped half way ({ip.get('scope')}, {ip.get('lower') or 'beginning'} .. "
            f"{ip.get('upper')}, {ip.get('pages_done')} pages done): the next extract resumes it"
        )
    if not s.tables:
        lines.append("  no tables yet: run `cekura-analytics extract`")
    for table, t in s.tables.items():
        lines.append(f"  {table:<22} {t['rows']:>10,} rows  version {t['version']:<5} {t['grain']}")
    return "\n".join(lines)


def optimize_summary(s: OptimizeSummary) -> str:
    """What ``optimize`` prints: files compacted and deleted per table."""
    lines = [f"optimized {s.data_dir}"]
    for t in s.files_merged:
        lines.append(
            f"  {t:<20} {s.files_merged[t]:>5} files compacted, "
            f"{s.files_deleted.get(t, 0):>5} old files deleted"
        )
    return "\n".join(lines)


# -- improve jobs --------------------------------------------------------------------------------
SHOW_COLUMNS = ["job_id", "kind", "run_id", "scenario_id", "status", "finished_at"]


def jobs_summary(df: pl.DataFrame) -> str:
    """One line per job (id, status, launch action, what to do next) and status counts."""
    if df.is_empty():
        return "no improve jobs to report"
    lines = []
    for r in df.iter_rows(named=True):
        action = f" [{r['action']}]" if "action" in r else ""
        note = (r["message"] or r["error"] or r["summary_of_changes"] or "").split("\n")[0]
        lines.append(f"{r['job_id']:<36} {r['status']:<11}{action} {note}".rstrip())
    counts = df["status"].value_counts(sort=True).iter_rows()
    return "\n".join([*lines, "total: " + ", ".join(f"{n} {s}" for s, n in counts)])


def _lines(text: str | None) -> list[str]:
    # difflib.HtmlDiff marks changes with \0 and \1 internally: strip them from untrusted text
    return (text or "").replace("\0", "").replace("\1", "").splitlines()


@dataclass
class JobDiffs:
    """Improve jobs shown as diffs of the submitted -> improved text: ``str()`` gives unified
    diffs (the ``improve show`` command), a notebook renders HTML diffs."""

    frame: pl.DataFrame
    where: str = "this data dir"

    @staticmethod
    def _title(r: dict[str, Any]) -> str:
        what = f"run {r['run_id']}" if r["kind"] == "prompt" else f"scenario {r['scenario_id']}"
        return f"{r['job_id']}  {what}  {r['status']}"

    def __str__(self) -> str:
        if self.frame.is_empty():
            return f"no finished improve jobs in {self.where}: run `improve collect` first"
        out: list[str] = []
        for r in self.frame.iter_rows(named=True):
            out += ["=" * 100, self._title(r)]
            if r["summary_of_changes"]:
                out += ["summary of changes:", r["summary_of_changes"]]
            out += [f"{k}: {r[k]}" for k in ("error", "message") if r[k]]
            if r["improved_prompt"]:
                name = "prompt" if r["kind"] == "prompt" else "instructions"
                a, b = _lines(r["prompt"]), _lines(r["improved_prompt"])
                out += difflib.unified_diff(a, b, name, f"improved {name}", lineterm="")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        # everything from the API is untrusted: polars escapes cells, html.escape the rest,
        # and HtmlDiff escapes the lines it renders
        if self.frame.is_empty():
            return f"<p>{html.escape(str(self))}</p>"
        parts = [self.frame.select([*SHOW_COLUMNS, "summary_of_changes"])._repr_html_()]
        differ = difflib.HtmlDiff(wrapcolumn=90)
        for r in self.frame.iter_rows(named=True):
            body = "".join(
                f"<p><b>{k}:</b> {html.escape(r[k])}</p>"
                for k in ("summary_of_changes", "error", "message")
                if r[k]
            )
            if r["improved_prompt"]:
                a, b = _lines(r["prompt"]), _lines(r["improved_prompt"])
                body += differ.make_table(a, b, "current", "improved", context=True)
            title = html.escape(self._title(r))
            parts.append(f"<details open><summary>{title}</summary>{body}</details>")
        style = (
            "<style>.diff_add{background:#aaffaa}.diff_chg{background:#ffff77}"
            ".diff_sub{background:#ffaaaa}table.diff{font-family:monospace}</style>"
        )
        return style + "".join(parts)


def impact_rows(df: pl.DataFrame) -> list[dict[str, str]]:
    """The report's "Did the suggestions work?" rows: text cells (the template escapes them)."""
    out = []
    for r in df.iter_rows(named=True):
        sides = {}
        for side, version in (("before", r["before_version"]), ("after", r["after_version"])):
            if version is None:
                sides[side] = "not shipped yet"
                continue
            rate, lo, hi = (r[f"{c}_{side}"] for c in ("pass_rate", "ci_low", "ci_high"))
            n, c = r[f"n_{side}"], r[f"n_scenarios_{side}"]
            sides[side] = f"{version}: {rate_cell(rate, lo, hi, n, c)}"
        out.append(
            {
                "job": str(r["job_id"]),
                "run": str(r["run_id"]),
                "metric": str(r["metric_name"] or f"metric {r['metric_id']}"),
                "before": sides["before"],
                "after": sides["after"],
                "change": points(r["change"]),
                "verdict": str(r["verdict"]),
            }
        )
    return out


# -- the release gate ----------------------------------------------------------------------------
def gate_headline(g: GateResult) -> str:
    """One line: the gate's verdict and its counts."""
    verdict = "PASS" if g.passed else "FAIL"
    n_tested = len(g.cells) - len(g.insufficient)
    why = ""
    if g.failures:
        why = f": {len(g.failures)} regressed"
    elif not g.passed:
        why = ": insufficient data under --strict"
    return (
        f"gate {verdict}{why} — agent {g.agent_id}, version {g.baseline} -> "
        f"{g.candidate}, {len(g.cells)} cells by {g.comparison.by} ({n_tested} tested, "
        f"{len(g.insufficient)} insufficient)"
    )


def side(c: Cell, which: str) -> str:
    """One side of a compared cell: rate, clustered interval, runs (scenarios)."""
    k = c.cmp
    return rate_cell(
        getattr(k, f"rate_{which}"),
        getattr(k, f"ci_low_{which}"),
        getattr(k, f"ci_high_{which}"),
        getattr(k, f"n_{which}"),
        getattr(k, f"n_scenarios_{which}"),
    )


def change_text(c: Cell) -> str:
    """The scenario-matched change with its interval, and what the naive one would say."""
    k = c.cmp
    text = f"change {points(k.change)} [{points(k.ci_low_change)}, {points(k.ci_high_change)}]"
    text += f" over {k.n_scenarios_both} common scenarios"
    if k.mix_shift is not None and abs(k.mix_shift) >= 0.005:
        text += f" (naive {points(k.naive_change)}: {points(k.mix_shift)} from the scenario mix)"
    only = k.n_scenarios_baseline_only + k.n_scenarios_candidate_only
    if only:
        text += f"; {only} scenarios ran on one side only"
    return text


def gate_message(g: GateResult, c: Cell) -> str:
    """One cell's numbers: both sides, the change, the test and its verdict."""
    if c.verdict.verdict == "insufficient":
        return f"insufficient data: {c.verdict.reason}"
    k = c.cmp
    return (
        f"{side(c, 'baseline')} -> {side(c, 'candidate')}; {change_text(c)}; "
        f"{k.method} one-sided p={p_value(k.p_worse)}, Holm p={p_value(c.verdict.p_holm_worse)} "
        f"(alpha {g.comparison.alpha:g}); verdict {c.verdict.verdict}, "
        f"max drop {points(g.comparison.max_drop, signed=False)}{flaky_note(c)}"
    )


def flaky_note(c: Cell) -> str:
    """``; mostly flaky ...`` when most of a drop comes from scenarios that flip."""
    if not c.mostly_flaky:
        return ""
    return f"; {pct(c.flaky_share)} of the drop is in flaky scenarios: rerun them before blocking"


def gate_text(g: GateResult) -> str:
    """What ``gate`` prints: the headline, then one line per cell, worst first."""
    lines = [gate_headline(g)]
    for c in g.worst_first():
        lines.append(f"  {g.status(c).upper():<12} {c.name}: {gate_message(g, c)}")
    return "\n".join(lines)
