"""Commands over the views: sql, duckdb, pass-rates, compare-versions, outliers,
failure-modes, flaky, review-agreement, gate and report."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import click

from ..defaults import (
    FLAKY_BY,
    GATE_FORMATS,
    MIN_REVIEWED,
    OUTLIER_SETTINGS,
    REPORT_FORMATS,
    REVIEW_BY,
)
from .options import (
    agent_id_option,
    as_of_option,
    comparison_options,
    data_dir_option,
    deprecated_version_options,
    format_option,
    friendly_errors,
    output_options,
    parse_params,
    renamed,
    rules_option,
    since_option,
    statement_text,
)


@click.command("sql")
@data_dir_option
@click.argument("statement", required=False)
@click.option(
    "--file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read the statement from this file (or give - as STATEMENT to read stdin).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A value for $NAME in the statement, passed safely (repeatable).",
)
@output_options
@rules_option
@as_of_option
@friendly_errors
def sql_cmd(
    data_dir: str,
    statement: str | None,
    file: Path | None,
    params: tuple[str, ...],
    fmt: str,
    out: Path | None,
    raw: bool,
    rules: Path | None,
    as_of: str | None,
) -> None:
    """Run STATEMENT over the views and tables (runs, metric_results, pass_rates_by_*, ...).

    Example: cekura-analytics sql --data-dir D "select * from pass_rates_by_metric
    where n_evaluated >= $n" --param n=30. STATEMENT - reads stdin; --file F reads F.
    `cekura-analytics tables` lists what there is to query.
    """
    from ..present.output import sql

    text, args = statement_text(statement, file), parse_params(params)
    click.echo(sql(data_dir, text, args, fmt=fmt, out=out, rules=rules, as_of=as_of, raw=raw))


@click.command("tables")
@click.argument("name", required=False)
@output_options
@friendly_errors
def tables_cmd(name: str | None, fmt: str, out: Path | None, raw: bool) -> None:
    """Every table and view `sql` can query, with its grain; NAME: its columns and their docs.

    Needs no data dir: the columns come from the view definitions and the table registry.
    """
    from ..present.output import render
    from ..warehouse.catalog import table_doc, tables

    if name is not None and fmt == "table":
        click.echo(table_doc(name))
    click.echo(render(tables(name), fmt, out, raw=raw))


@click.command("duckdb")
@data_dir_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The database file to write, e.g. views.duckdb.",
)
@rules_option
@friendly_errors
def duckdb_cmd(data_dir: str, out: Path, rules: Path | None) -> None:
    """Write a DuckDB file holding every view and table, for Python's duckdb, the duckdb shell
    and BI tools.

    The views read the data files of the tables' current snapshot by absolute path: the file
    works while the data dir stays where it is; rerun after an extract or optimize, after
    changing the rules file, or after moving the data dir.
    """
    from ..present.text import duckdb_summary
    from ..warehouse.connection import duckdb

    click.echo(duckdb_summary(duckdb(data_dir, out, rules=rules), data_dir))


@click.command("pass-rates")
@data_dir_option
@click.option(
    "--by",
    default="metric,personality",
    show_default=True,
    help="Comma-separated: metric, personality, language, scenario, agent, agent_version, "
    "day, result.",
)
@since_option
@agent_id_option
@output_options
@rules_option
@as_of_option
@friendly_errors
def pass_rates_cmd(
    data_dir: str,
    by: str,
    since: str | None,
    agent_id: int | None,
    fmt: str,
    out: Path | None,
    raw: bool,
    rules: Path | None,
    as_of: str | None,
) -> None:
    """Metric pass rates per group with scenario-clustered 95 % intervals and unknown counts.

    The table is worst first, in percent, with n as runs (scenarios); csv, json and parquet
    keep every raw column (rates as fractions).
    """
    from ..analysis.rates import pass_rates
    from ..present.output import render
    from ..present.text import rates_for_people

    df = pass_rates(data_dir, by=by, since=since, agent_id=agent_id, rules=rules, as_of=as_of)
    click.echo(render(rates_for_people(df) if fmt == "table" else df, fmt, out, raw=raw))


@click.command("compare-versions")
@data_dir_option
@click.option("--metric", default=None, help="One metric (name or id); default: every metric.")
@click.option("--agent-id", type=int, default=None, help="The agent (default: the busiest).")
@comparison_options
@deprecated_version_options
@output_options
@as_of_option
@rules_option
@friendly_errors
def compare_versions_cmd(
    data_dir: str,
    a: str | None,
    b: str | None,
    baseline: str,
    candidate: str,
    fmt: str,
    out: Path | None,
    raw: bool,
    **settings: Any,
) -> None:
    """Each metric (or metric × language / personality) of the candidate version against the
    baseline, scenario by scenario: rates, the change, the test and the verdict.

    The table is worst first, in percent, with n as runs (scenarios); csv, json and parquet
    keep every raw column (the test, both intervals, the scenarios run on one side only).
    """
    from ..analysis.versions import compare_versions
    from ..present.output import render
    from ..present.text import comparison_for_people

    baseline = renamed("--a", "--baseline", a, baseline)
    candidate = renamed("--b", "--candidate", b, candidate)
    df = compare_versions(data_dir, baseline=baseline, candidate=candidate, **settings)
    click.echo(render(comparison_for_people(df) if fmt == "table" else df, fmt, out, raw=raw))


@click.command("failure-modes")
@data_dir_option
@click.option("--metric", default=None, help="Only this metric (id or name).")
@since_option
@click.option("--recluster", is_flag=True, help="Rebuild the modes instead of updating them.")
@click.option("--seed", type=int, default=0, show_default=True, help="Clustering seed.")
@output_options
@rules_option
@friendly_errors
def failure_modes_cmd(
    data_dir: str,
    metric: str | None,
    since: str | None,
    recluster: bool,
    seed: int,
    fmt: str,
    out: Path | None,
    raw: bool,
    rules: Path | None,
) -> None:
    """Group each metric's failure explanations into modes: label, example, counts.

    New failures join the nearest stored mode (or open one); --recluster rebuilds.
    Needs the 'modes' extra: pip install 'cekura-analytics[modes]'.
    """
    from ..analysis.modes import failure_modes
    from ..present.output import render

    df = failure_modes(
        data_dir, metric=metric, since=since, recluster=recluster, seed=seed, rules=rules
    )
    cols = ["metric_name", "mode_rank", "label", "n_failed", "share", "n_metric_failed", "mode_id"]
    click.echo(render(df.select(cols) if fmt == "table" else df, fmt, out, raw=raw))


@click.command("outliers")
@data_dir_option
@click.option("--limit", type=int, default=20, show_default=True, help="How many runs to show.")
@click.option(
    "--min-group-pass-rate",
    type=float,
    default=OUTLIER_SETTINGS["min_group_pass_rate"],
    show_default=True,
    help="A failure is surprising when its scenario × metric group passes at least this often.",
)
@click.option(
    "--min-group-results",
    type=int,
    default=int(OUTLIER_SETTINGS["min_group_results"]),
    show_default=True,
    help="... over at least this many evaluated results.",
)
@click.option(
    "--score-z",
    type=float,
    default=OUTLIER_SETTINGS["score_z"],
    show_default=True,
    help="Low score: robust z <= -Z.",
)
@click.option(
    "--duration-z",
    type=float,
    default=OUTLIER_SETTINGS["duration_z"],
    show_default=True,
    help="Long run: robust z >= Z.",
)
@output_options
@rules_option
@as_of_option
@friendly_errors
def outliers_cmd(
    data_dir: str,
    limit: int,
    min_group_pass_rate: float,
    min_group_results: int,
    score_z: float,
    duration_z: float,
    fmt: str,
    out: Path | None,
    raw: bool,
    rules: Path | None,
    as_of: str | None,
) -> None:
    """The most surprising runs: failures of usually-passing metrics, low scores, long runs."""
    from ..analysis.outlier_runs import outliers
    from ..present.output import render

    df = outliers(
        data_dir,
        limit=limit,
        min_group_pass_rate=min_group_pass_rate,
        min_group_results=min_group_results,
        score_z=score_z,
        duration_z=duration_z,
        rules=rules,
        as_of=as_of,
    )
    click.echo(render(df, fmt, out, raw=raw))


# --- flakiness and trust in the judge ---
@click.command("flaky")
@data_dir_option
@click.option(
    "--by",
    type=click.Choice(FLAKY_BY),
    default=FLAKY_BY[0],
    show_default=True,
    help="metric[,agent_version|,week]: per metric, the shares of scenarios that always pass, "
    "flip or always fail; scenario[,week]: the scenario cells, flakiest first.",
)
@click.option("--metric", default=None, help="Only this metric (name or id).")
@click.option("--flaky-only", is_flag=True, help="With --by scenario: only cells that flipped.")
@since_option
@agent_id_option
@output_options
@rules_option
@as_of_option
@friendly_errors
def flaky_cmd(
    data_dir: str,
    fmt: str,
    out: Path | None,
    raw: bool,
    **scope: Any,
) -> None:
    """Which scenarios flip between pass and fail when run again on the same agent version.

    A cell is a scenario × metric × agent version run at least twice; it is flaky when both
    outcomes were seen. Per metric: the shares of cells that always passed (pass^k), flipped
    and always failed, with scenario-clustered 95 % intervals.
    """
    from ..analysis.flakiness import flaky
    from ..present.output import render
    from ..present.quality import readable

    df = flaky(data_dir, **scope)
    click.echo(render(readable(df) if fmt == "table" else df, fmt, out, raw=raw))


@click.command("review-agreement")
@data_dir_option
@click.option(
    "--by",
    type=click.Choice(REVIEW_BY),
    default=REVIEW_BY[0],
    show_default=True,
    help="metric[,agent_version]: overturn and missed rates and the corrected pass rate; "
    "agent / agent_version: the judge-vs-reviewer agreement and Cohen's kappa.",
)
@click.option("--metric", default=None, help="Only this metric (name or id; --by metric).")
@click.option(
    "--min-reviewed",
    type=int,
    default=MIN_REVIEWED,
    show_default=True,
    help="Correct a metric's pass rate only where at least this many of its failed and of "
    "its passed results were reviewed.",
)
@since_option
@agent_id_option
@output_options
@rules_option
@as_of_option
@friendly_errors
def review_agreement_cmd(
    data_dir: str,
    fmt: str,
    out: Path | None,
    raw: bool,
    **scope: Any,
) -> None:
    """How far to trust each metric: the LLM judge against the human reviews.

    Per metric: the share of reviewed failures a reviewer overturned, the share of reviewed
    runs the judge passed that the reviewer failed, and the pass rate corrected by both;
    per agent: agreement and Cohen's kappa. Reviewers pick runs on purpose: the numbers hold
    as far as the reviewed runs are typical.
    """
    from ..analysis.reviews import review_agreement
    from ..present.output import render
    from ..present.quality import readable, trust_caveat

    df = review_agreement(data_dir, **scope)
    click.echo(render(readable(df) if fmt == "table" else df, fmt, out, raw=raw))
    click.echo(trust_caveat(scope["min_reviewed"]), err=True)


# --- gate ---
@click.command("gate")
@data_dir_option
@click.option("--agent-id", type=int, required=True, help="The agent whose versions to compare.")
@comparison_options
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="JUnit XML file.")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), help="PR comment.")
@click.option("--strict", is_flag=True, help="Insufficient cells fail the gate too.")
@format_option(
    GATE_FORMATS,
    "text: the verdict and one line per cell; json: one document (cells, counts, exit code).",
)
@as_of_option
@rules_option
@functools.partial(friendly_errors, exit_code=2)
def gate_cmd(
    data_dir: str, junit: Path | None, markdown: Path | None, fmt: str, **settings: Any
) -> None:
    """Fail a CI build when the candidate agent version made a metric significantly worse.

    Exit status: 0 pass, 1 regression (or insufficient data with --strict), 2 bad input or
    no data. Each cell compares the versions scenario by scenario (only scenarios run on
    both); it fails when the candidate is worse after Holm's correction and dropped by more
    than --max-drop.
    """
    from ..analysis.release_gate import gate
    from ..present.output import gate_json, write_gate
    from ..present.text import gate_text

    result = gate(data_dir, **settings)
    write_gate(result, junit=junit, markdown=markdown)
    click.echo(gate_json(result) if fmt == "json" else gate_text(result))
    sys.exit(result.exit_code)


# --- report ---
@click.command("report")
@data_dir_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: DATA_DIR/report.html, or report.md with --format md).",
)
@since_option
@agent_id_option
@click.option(
    "--png-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write every chart as PNG here (md default: <OUT stem>_charts/ next to OUT).",
)
@format_option(
    REPORT_FORMATS, "html: one self-contained file that opens offline; md: Markdown + PNG charts."
)
@rules_option
@as_of_option
@friendly_errors
def report_cmd(
    data_dir: str,
    out: Path | None,
    since: str | None,
    agent_id: int | None,
    png_dir: Path | None,
    fmt: str,
    rules: Path | None,
    as_of: str | None,
) -> None:
    """Write a report: headline numbers, charts, worst cells, outlier runs, suggestions.

    The HTML file carries its chart JavaScript inline: share it, open it on a plane.
    """
    from ..present.document import report

    path = report(
        data_dir,
        out,
        since=since,
        agent_id=agent_id,
        png_dir=png_dir,
        fmt=fmt,
        rules=rules,
        as_of=as_of,
    )
    click.echo(f"wrote {path}")
