"""The ``cekura-analytics`` command line: each command is a thin wrapper over the public
function of the same name, prints a one-line error on failure and exits non-zero."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import CekuraError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F, *, exit_code: int = 1) -> F:
    """Turn toolkit errors into one red line and exit status ``exit_code`` (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CekuraError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(exit_code)
        except KeyboardInterrupt:
            click.secho("interrupted: data committed so far is kept; rerun to resume", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def data_dir_option(func: F) -> F:
    """``--data-dir D``: where the Delta tables live (a directory or s3:// gs:// az://)."""
    return click.option(
        "--data-dir",
        type=str,
        required=True,
        help="Directory (or s3://, gs://, az:// URI) holding the extracted Delta tables.",
    )(func)


def as_of_option(func: F) -> F:
    """``--as-of VERSION|TIMESTAMP``: read the tables as they stood then."""
    return click.option(
        "--as-of",
        default=None,
        help="Read the data as it stood at this runs-table version (e.g. 12) or UTC "
        "date/time (e.g. 2026-06-01T09:00).",
    )(func)


def api_options(func: F) -> F:
    """``--base-url`` and ``--api-version``; the key comes from CEKURA_API_KEY or .env only."""
    func = click.option(
        "--api-version",
        type=click.Choice(["auto", "v2", "v1"]),
        default="auto",
        show_default=True,
        help="Read runs, results, agents and metrics on v2 or v1; auto: v2, else v1 once.",
    )(func)
    return click.option(
        "--base-url",
        default=None,
        help="API base URL (default: $CEKURA_BASE_URL, $CEKURA_API_URL or https://api.cekura.ai).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cekura-analytics")
def cli() -> None:
    """Pull Cekura test data into Delta tables, find where your agent fails, improve its prompt."""


def main() -> None:
    """Console-script entry point."""
    cli()


# Command modules register themselves on `cli`; importing them here keeps `cli` the single
# entry point while each concern keeps its commands next to its CLI-facing wrapper code.


# --- extract ---
@cli.command("extract")
@api_options
@data_dir_option
@click.option("--since", default=None, help="Only runs at or after this ISO date/time (UTC).")
@click.option("--full", is_flag=True, help="Re-fetch the whole window, ignoring the watermark.")
@click.option("--agent-id", type=int, default=None, help="Only runs of this agent.")
@click.option("--project-id", type=int, default=None, help="Only runs of this project.")
@click.option("--concurrency", type=int, default=8, show_default=True, help="Requests in flight.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--repair", is_flag=True, help="Take unreadable data files out and fetch their runs again."
)
@friendly_errors
def extract_cmd(
    base_url: str | None,
    api_version: str,
    data_dir: str,
    since: str | None,
    full: bool,
    agent_id: int | None,
    project_id: int | None,
    concurrency: int,
    quiet: bool,
    repair: bool,
) -> None:
    """Sync runs, evaluations, transcripts and reference tables into Delta tables in DATA_DIR.

    Incremental and resumable: rerun it at any time; the API key comes from
    CEKURA_API_KEY or a .env file.
    """
    from .extract import extract

    summary = extract(
        data_dir,
        base_url=base_url,
        api_version=api_version,
        since=since,
        full=full,
        agent_id=agent_id,
        project_id=project_id,
        concurrency=concurrency,
        quiet=quiet,
        repair=repair,
    )
    click.echo(str(summary))


@cli.command("optimize")
@data_dir_option
@click.option(
    "--retain-days",
    type=float,
    default=7.0,
    show_default=True,
    help="Keep files older versions need for this long (time travel reaches back as far).",
)
@friendly_errors
def optimize_cmd(data_dir: str, retain_days: float) -> None:
    """Compact small files and delete files no version younger than --retain-days needs."""
    from .optimize import optimize

    click.echo(str(optimize(data_dir, retain_days=retain_days)))


# --- demo ---
@cli.command("demo")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/demo"),
    show_default=True,
    help="Where the demo writes its Delta tables and report.",
)
@click.option("--runs", type=int, default=20_000, show_default=True, help="Runs in the mock.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the mock data.")
@friendly_errors
def demo_cmd(data_dir: Path, runs: int, seed: int) -> None:
    """Run everything end to end against an embedded mock Cekura (no API key needed)."""
    from .demo import demo

    demo(data_dir, runs=runs, seed=seed)


# --- improve commands ---
def _parse_ids(value: str | None, option: str) -> list[int] | None:
    """``"1, 2,3"`` → ``[1, 2, 3]``; a one-line error for anything else."""
    if value is None:
        return None
    try:
        ids = [int(v) for v in value.replace(" ", "").split(",") if v]
    except ValueError:
        msg = f"{value!r}: expected comma-separated integers"
        raise click.BadParameter(msg, param_hint=option) from None
    if not ids:
        raise click.BadParameter("no ids given", param_hint=option)
    return ids


def _retry_options(func: F) -> F:
    """``--retry-failed`` / ``--retry-uncertain`` / ``--concurrency`` of the launch commands."""
    func = click.option(
        "--concurrency", type=int, default=4, show_default=True, help="POSTs in flight."
    )(func)
    func = click.option(
        "--retry-uncertain",
        is_flag=True,
        help="Also relaunch jobs left 'uncertain' by an interrupted launch (check the Cekura "
        "dashboard first: the interrupted request may have created the job).",
    )(func)
    flag = click.option("--retry-failed", is_flag=True, help="Also relaunch jobs that failed.")
    return flag(func)


@cli.group("improve")
def improve_group() -> None:
    """Improve-prompt and improve-instructions jobs: launch once, collect, show the diffs.

    Every job is recorded in DATA_DIR/improve_jobs/ before it is sent, so rerunning a
    command never launches a job twice; see `improve launch --help` for the statuses.
    """


@improve_group.command("launch")
@api_options
@data_dir_option
@click.option("--run-ids", default=None, help="Comma-separated run ids, e.g. 101,102.")
@click.option("--outliers", type=int, default=None, help="The top N runs of outlier_runs.")
@click.option(
    "--per-mode",
    type=int,
    default=None,
    help="The N runs closest to the centre of each of the largest failure modes.",
)
@click.option(
    "--top-modes", type=int, default=5, show_default=True, help="How many modes --per-mode covers."
)
@click.option(
    "--prompt-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Text file holding the agent's current prompt.",
)
@_retry_options
@friendly_errors
def improve_launch_cmd(
    base_url: str | None,
    api_version: str,
    data_dir: str,
    run_ids: str | None,
    outliers: int | None,
    per_mode: int | None,
    top_modes: int,
    prompt_file: Path,
    retry_failed: bool,
    retry_uncertain: bool,
    concurrency: int,
) -> None:
    """Launch one improve-prompt job per run (runs/improve_prompt_bg/).

    Jobs the ledger already holds are not sent again (statuses: queued, in_progress,
    completed, no_change, failed, uncertain). 'uncertain' means an earlier launch was cut
    off after its request may have reached Cekura: it is only relaunched with
    --retry-uncertain. The API key comes from CEKURA_API_KEY or a .env file.
    """
    from .improve import improve_launch
    from .ledger import summarize

    df = improve_launch(
        data_dir,
        _parse_ids(run_ids, "--run-ids"),
        prompt_file,
        outliers=outliers,
        per_mode=per_mode,
        top_modes=top_modes,
        concurrency=concurrency,
        retry_failed=retry_failed,
        retry_uncertain=retry_uncertain,
        base_url=base_url,
        api_version=api_version,
    )
    click.echo(summarize(df))


@improve_group.command("instructions")
@api_options
@data_dir_option
@click.option("--scenario-ids", required=True, help="Comma-separated scenario ids.")
@click.option(
    "--extra-instructions", required=True, help="What the improved instructions should change."
)
@_retry_options
@friendly_errors
def improve_instructions_cmd(
    base_url: str | None,
    api_version: str,
    data_dir: str,
    scenario_ids: str,
    extra_instructions: str,
    retry_failed: bool,
    retry_uncertain: bool,
    concurrency: int,
) -> None:
    """Launch one improve-instructions job per extracted scenario (scenarios/improve_instructions/).

    The scenario's current instructions and agent come from DATA_DIR (run extract first);
    the ledger rules of `improve launch` apply. Collect with `improve collect`.
    """
    from .improve import improve_instructions
    from .ledger import summarize

    df = improve_instructions(
        data_dir,
        _parse_ids(scenario_ids, "--scenario-ids") or [],
        extra_instructions,
        concurrency=concurrency,
        retry_failed=retry_failed,
        retry_uncertain=retry_uncertain,
        base_url=base_url,
        api_version=api_version,
    )
    click.echo(summarize(df))


@improve_group.command("collect")
@api_options
@data_dir_option
@click.option("--timeout", type=float, default=600, show_default=True, help="Give up after S s.")
@click.option("--poll", type=float, default=2.0, show_default=True, help="First poll interval.")
@click.option("--job-id", "job_ids", multiple=True, help="Only this job (repeatable).")
@click.option("--concurrency", type=int, default=4, show_default=True, help="GETs in flight.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def improve_collect_cmd(
    base_url: str | None,
    api_version: str,
    data_dir: str,
    timeout: float,
    poll: float,
    job_ids: tuple[str, ...],
    concurrency: int,
    quiet: bool,
) -> None:
    """Poll every open job until it finishes or --timeout passes; answers are saved as they come.

    Jobs still running at the timeout stay open: run collect again later. Safe to interrupt.
    """
    from .improve import improve_collect
    from .ledger import summarize

    df = improve_collect(
        data_dir,
        timeout=timeout,
        poll=poll,
        job_ids=list(job_ids) or None,
        concurrency=concurrency,
        quiet=quiet,
        base_url=base_url,
        api_version=api_version,
    )
    click.echo(summarize(df) if df.height else "no open improve jobs to collect")


@improve_group.command("show")
@data_dir_option
@click.option("--job-id", default=None, help="Only this job (any status).")
@friendly_errors
def improve_show_cmd(data_dir: str, job_id: str | None) -> None:
    """Show finished jobs with a unified diff of the current → improved prompt (or instructions)."""
    from .improve import improve_show

    click.echo(str(improve_show(data_dir, job_id=job_id)))


# --- mock-server ---
@cli.command("mock-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0 = any free).")
@click.option("--runs", default=20_000, show_default=True, type=int, help="Synthetic runs.")
@click.option("--seed", default=0, show_default=True, type=int, help="Data and fault seed.")
@click.option("--api-key", default="test-key", show_default=True, help="Key the mock accepts.")
@click.option("--latency-ms", default=0.0, type=float, help="Added latency per API request.")
@click.option("--fail-rate", default=0.0, type=float, help="Share of random 500 answers.")
@click.option("--rate-limit-rps", default=0.0, type=float, help="Requests/s before 429 (0=off).")
@click.option("--truncate-rate", default=0.0, type=float, help="Share of bodies cut in half.")
@click.option("--extra-fields", is_flag=True, help="Add unknown fields to every object.")
@click.option("--arrivals-per-list", default=0, type=int, help="New runs per runs/ list call.")
@click.option(
    "--max-page-size",
    default=100,
    show_default=True,
    type=int,
    help="Rows per page at most, whatever page_size asks (the live default is 30).",
)
@click.option("--no-v2", is_flag=True, help="Answer 404 on v2 reads, like an older server.")
@click.option(
    "--no-improve-prompt",
    is_flag=True,
    help="Answer 404 on runs/improve_prompt*, as Cekura's service does since 2026-06.",
)
@friendly_errors
def mock_server_cmd(
    host: str, port: int, no_v2: bool, no_improve_prompt: bool, **settings: Any
) -> None:
    """Serve a local mock of the Cekura API with seeded synthetic data (foreground)."""
    from .mock.process import mock_server

    mock_server(
        host,
        port,
        announce=click.echo,
        v2_reads=not no_v2,
        improve_prompt_endpoints=not no_improve_prompt,
        **settings,
    )


# --- report ---
@cli.command("report")
@data_dir_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: DATA_DIR/report.html, or report.md with --format md).",
)
@click.option("--since", default=None, help="Only runs at or after this ISO date/time (UTC).")
@click.option("--agent-id", type=int, default=None, help="Only runs of this agent.")
@click.option(
    "--png-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write every chart as PNG here (md default: <OUT stem>_charts/ next to OUT).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md"]),
    default="html",
    show_default=True,
    help="html: one self-contained file that opens offline; md: Markdown + PNG charts.",
)
@click.option(
    "--rules",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Pass-rule TOML file (default: DATA_DIR/cekura-analytics.toml if present).",
)
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
    from .report import report

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


# --- analysis commands ---
def _rules_option(func: F) -> F:
    """``--rules PATH``: the pass-rule TOML file."""
    return click.option(
        "--rules",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Pass-rule TOML file (default: DATA_DIR/cekura-analytics.toml if present).",
    )(func)


def _output_options(func: F) -> F:
    """``--format`` and ``--out`` for commands that print a table."""
    func = click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write to this file instead of printing (needed for parquet).",
    )(func)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "csv", "json", "parquet"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(func)


def _parse_params(values: tuple[str, ...]) -> dict[str, str]:
    from .errors import ConfigError

    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ConfigError(f"--param {item!r}: write NAME=VALUE and use $NAME in the SQL")
        params[name.strip()] = value
    return params


@cli.command("sql")
@data_dir_option
@click.argument("statement")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A value for $NAME in the statement, passed safely (repeatable).",
)
@_output_options
@_rules_option
@as_of_option
@friendly_errors
def sql_cmd(
    data_dir: str,
    statement: str,
    params: tuple[str, ...],
    fmt: str,
    out: Path | None,
    rules: Path | None,
    as_of: str | None,
) -> None:
    """Run STATEMENT over the views (metric_results, pass_rates_by_*, run_details, ...).

    Example: cekura-analytics sql --data-dir D "select * from pass_rates_by_metric
    where n_evaluated >= $n" --param n=30
    """
    from .views import sql

    args = _parse_params(params)
    click.echo(sql(data_dir, statement, args, fmt=fmt, out=out, rules=rules, as_of=as_of))


@cli.command("duckdb")
@data_dir_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The database file to write, e.g. views.duckdb.",
)
@_rules_option
@friendly_errors
def duckdb_cmd(data_dir: str, out: Path, rules: Path | None) -> None:
    """Write a DuckDB file holding every view, for the duckdb shell and BI tools.

    The views read the data files of the tables' current snapshot by absolute path: rerun
    after an extract or optimize, or after changing the rules file.
    """
    from .views import duckdb

    path = duckdb(data_dir, out, rules=rules)
    click.echo(f"wrote {path} (open it with: duckdb {path})")


@cli.command("pass-rates")
@data_dir_option
@click.option(
    "--by",
    default="metric,personality",
    show_default=True,
    help="Comma-separated: metric, personality, language, scenario, agent, agent_version, "
    "day, result.",
)
@click.option("--since", default=None, help="Only runs at or after this ISO date/time (UTC).")
@click.option("--agent-id", type=int, default=None, help="Only runs of this agent.")
@_output_options
@_rules_option
@as_of_option
@friendly_errors
def pass_rates_cmd(
    data_dir: str,
    by: str,
    since: str | None,
    agent_id: int | None,
    fmt: str,
    out: Path | None,
    rules: Path | None,
    as_of: str | None,
) -> None:
    """Metric pass rates per group with Wilson 95 % intervals and unknown counts."""
    from .analysis import pass_rates
    from .views import render

    df = pass_rates(data_dir, by=by, since=since, agent_id=agent_id, rules=rules, as_of=as_of)
    click.echo(render(df, fmt, out))


@cli.command("compare-versions")
@data_dir_option
@click.option("--metric", default=None, help="One metric (name or id); default: every metric.")
@click.option(
    "--a", "a", default=None, help="The baseline version (default: the older of the two newest)."
)
@click.option("--b", "b", default=None, help="The version compared (default: the newest).")
@click.option("--agent-id", type=int, default=None, help="The agent (default: the busiest).")
@_output_options
@as_of_option
@_rules_option
@friendly_errors
def compare_versions_cmd(
    data_dir: str,
    metric: str | None,
    a: str | None,
    b: str | None,
    agent_id: int | None,
    fmt: str,
    out: Path | None,
    as_of: str | None,
    rules: Path | None,
) -> None:
    """Per-metric pass rate of agent version A vs B, with intervals and a two-proportion test."""
    from .analysis import compare_versions
    from .views import render

    df = compare_versions(data_dir, metric, a, b, agent_id=agent_id, rules=rules, as_of=as_of)
    click.echo(render(df, fmt, out))


@cli.command("failure-modes")
@data_dir_option
@click.option("--metric", default=None, help="Only this metric (id or name).")
@click.option("--since", default=None, help="Only failures at or after this ISO date (UTC).")
@click.option("--recluster", is_flag=True, help="Rebuild the modes instead of updating them.")
@click.option("--seed", type=int, default=0, show_default=True, help="Clustering seed.")
@_output_options
@_rules_option
@friendly_errors
def failure_modes_cmd(
    data_dir: str,
    metric: str | None,
    since: str | None,
    recluster: bool,
    seed: int,
    fmt: str,
    out: Path | None,
    rules: Path | None,
) -> None:
    """Group each metric's failure explanations into modes: label, example, counts.

    New failures join the nearest stored mode (or open one); --recluster rebuilds.
    Needs the 'modes' extra: pip install 'cekura-analytics[modes]'.
    """
    from .failure_modes import failure_modes
    from .views import render

    df = failure_modes(
        data_dir, metric=metric, since=since, recluster=recluster, seed=seed, rules=rules
    )
    cols = ["metric_name", "mode_rank", "label", "n_failed", "share", "n_metric_failed", "mode_id"]
    click.echo(render(df.select(cols) if fmt == "table" else df, fmt, out))


@cli.command("outliers")
@data_dir_option
@click.option("--limit", type=int, default=20, show_default=True, help="How many runs to show.")
@click.option(
    "--min-group-pass-rate",
    type=float,
    default=0.8,
    show_default=True,
    help="A failure is surprising when its scenario × metric group passes at least this often.",
)
@click.option(
    "--min-group-results",
    type=int,
    default=10,
    show_default=True,
    help="... over at least this many evaluated results.",
)
@click.option(
    "--score-z", type=float, default=3.5, show_default=True, help="Low score: robust z <= -Z."
)
@click.option(
    "--duration-z", type=float, default=3.5, show_default=True, help="Long run: robust z >= Z."
)
@_output_options
@_rules_option
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
    rules: Path | None,
    as_of: str | None,
) -> None:
    """The most surprising runs: failures of usually-passing metrics, low scores, long runs."""
    from .outliers import outliers
    from .views import render

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
    click.echo(render(df, fmt, out))


# --- gate ---
@cli.command("gate")
@data_dir_option
@click.option("--agent-id", type=int, required=True, help="The agent whose versions to compare.")
@click.option("--baseline", default="previous", show_default=True, help="VERSION or 'previous'.")
@click.option("--candidate", default="latest", show_default=True, help="VERSION or 'latest'.")
@click.option(
    "--max-drop", type=float, default=0.05, show_default=True, help="Largest drop tolerated."
)
@click.option("--alpha", type=float, default=0.05, show_default=True, help="After Holm.")
@click.option("--min-n", type=int, default=30, show_default=True, help="Fewer: insufficient.")
@click.option(
    "--by",
    type=click.Choice(["metric", "metric,language", "metric,personality"]),
    default="metric",
    show_default=True,
    help="One cell per metric, or per metric × language / personality.",
)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="JUnit XML file.")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), help="PR comment.")
@click.option("--strict", is_flag=True, help="Insufficient cells fail the gate too.")
@as_of_option
@_rules_option
@functools.partial(friendly_errors, exit_code=2)
def gate_cmd(data_dir: str, junit: Path | None, markdown: Path | None, **settings: Any) -> None:
    """Fail a CI build when the candidate agent version made a metric significantly worse.

    Exit status: 0 pass, 1 regression (or insufficient data with --strict), 2 bad input or
    no data. A cell fails when its pass rate drops by more than --max-drop and a one-sided
    test (Fisher exact for small counts, z otherwise) is significant after Holm's correction.
    """
    from .gate import gate

    result = gate(data_dir, **settings)
    result.write(junit=junit, markdown=markdown)
    click.echo(str(result))
    sys.exit(result.exit_code)


# --- improve impact (after the output options it uses) ---
@improve_group.command("impact")
@data_dir_option
@click.option("--alpha", type=float, default=0.05, show_default=True, help="After Holm.")
@click.option("--min-n", type=int, default=30, show_default=True, help="Fewer: no evidence.")
@click.option("--agent-id", type=int, default=None, help="Only jobs of this agent.")
@_output_options
@as_of_option
@_rules_option
@friendly_errors
def improve_impact_cmd(data_dir: str, fmt: str, out: Path | None, **settings: Any) -> None:
    """Did the suggestions work? Each finished job's targeted metrics, before → after.

    Before: the agent version the job's run used; after: the agent's next version first seen
    after the job finished. Verdict: improved, no evidence, worse or not yet shipped (one-sided
    tests as in `gate`, Holm-corrected over all jobs and metrics).
    """
    from .impact import improve_impact
    from .views import render

    click.echo(render(improve_impact(data_dir, **settings), fmt, out))
