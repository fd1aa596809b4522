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


def friendly_errors(func: F) -> F:
    """Turn toolkit errors into one red line and exit status 1 (no traceback wall)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CekuraError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)
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
    """``--base-url``; the key comes from CEKURA_API_KEY or .env, never from argv."""
    return click.option(
        "--base-url",
        envvar="CEKURA_BASE_URL",
        default=None,
        help="API base URL (default: $CEKURA_BASE_URL or https://api.cekura.ai).",
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
    from .upkeep import optimize

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
    "--prompt-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Text file holding the agent's current prompt.",
)
@_retry_options
@friendly_errors
def improve_launch_cmd(
    base_url: str | None,
    data_dir: str,
    run_ids: str | None,
    outliers: int | None,
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
    from .errors import ConfigError
    from .improve import launch_improve_prompt, read_prompt
    from .ledger import summarize

    read_prompt(prompt_file)  # a missing or empty file fails before anything else
    if (run_ids is None) == (outliers is None):
        raise ConfigError("pass exactly one of --run-ids 1,2 or --outliers N")
    ids = _parse_ids(run_ids, "--run-ids")
    if ids is None:
        from .outliers import outlier_runs

        ids = [int(r) for r in outlier_runs(data_dir, limit=outliers or 0)["run_id"]]
    df = launch_improve_prompt(
        data_dir,
        ids,
        prompt_file,
        concurrency=concurrency,
        retry_failed=retry_failed,
        retry_uncertain=retry_uncertain,
        base_url=base_url,
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
    from .improve import collect
    from .ledger import summarize

    df = collect(
        data_dir,
        timeout=timeout,
        poll=poll,
        job_ids=list(job_ids) or None,
        concurrency=concurrency,
        quiet=quiet,
        base_url=base_url,
    )
    click.echo(summarize(df) if df.height else "no open improve jobs to collect")


@improve_group.command("show")
@data_dir_option
@click.option("--job-id", default=None, help="Only this job (any status).")
@friendly_errors
def improve_show_cmd(data_dir: str, job_id: str | None) -> None:
    """Show finished jobs with a unified diff of the current → improved prompt (or instructions)."""
    from .improve import show

    click.echo(str(show(data_dir, job_id=job_id)))


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
def mock_server_cmd(
    host: str,
    port: int,
    runs: int,
    seed: int,
    api_key: str,
    latency_ms: float,
    fail_rate: float,
    rate_limit_rps: float,
    truncate_rate: float,
    extra_fields: bool,
    arrivals_per_list: int,
) -> None:
    """Serve a local mock of the Cekura API with seeded synthetic data (foreground)."""
    from .mock.faults import MockConfig
    from .mock.server import serve_forever

    config = MockConfig(
        api_key=api_key, seed=seed, runs=runs, latency_ms=latency_ms, fail_rate=fail_rate,
        rate_limit_rps=rate_limit_rps, truncate_rate=truncate_rate, extra_fields=extra_fields,
        arrivals_per_list=arrivals_per_list,
    )  # fmt: skip
    serve_forever(config, host=host, port=port, announce=click.echo)


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
    from .report import build_report

    path = build_report(
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
    from .views import export_duckdb

    path = export_duckdb(data_dir, out, rules=rules)
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
    from .outliers import outlier_runs
    from .views import render

    df = outlier_runs(
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
