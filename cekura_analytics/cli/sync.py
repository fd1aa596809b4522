"""Commands that talk to the API or manage the tables' files: extract, optimize, status,
demo, mock-server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..defaults import EXTRACT_CONCURRENCY, RETAIN_DAYS, STATUS_FORMATS
from .options import (
    agent_id_option,
    api_options,
    data_dir_option,
    format_option,
    friendly_errors,
    since_option,
)


# --- extract ---
@click.command("extract")
@api_options
@data_dir_option
@since_option
@click.option("--full", is_flag=True, help="Re-fetch the whole window, ignoring the watermark.")
@agent_id_option
@click.option("--project-id", type=int, default=None, help="Only runs of this project.")
@click.option(
    "--concurrency",
    type=int,
    default=EXTRACT_CONCURRENCY,
    show_default=True,
    help="Requests in flight.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--repair", is_flag=True, help="Take unreadable data files out and fetch their runs again."
)
@click.option(
    "--force",
    is_flag=True,
    help="Add this server's (or project's) runs to a data dir that holds another's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
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
    force: bool,
    as_json: bool,
) -> None:
    """Sync runs, evaluations, transcripts and reference tables into Delta tables in DATA_DIR.

    Incremental and resumable: rerun it at any time; the API key comes from
    CEKURA_API_KEY or a .env file. A --since earlier than the stored syncs reach fills the
    gap. DATA_DIR remembers its server and project and refuses another's without --force.
    """
    from ..lake.sync import extract

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
        force=force,
    )
    from ..present.text import extract_summary

    click.echo(json.dumps(summary.to_dict()) if as_json else extract_summary(summary))


@click.command("optimize")
@data_dir_option
@click.option(
    "--retain-days",
    type=float,
    default=RETAIN_DAYS,
    show_default=True,
    help="Keep files older versions need for this long (time travel reaches back as far).",
)
@friendly_errors
def optimize_cmd(data_dir: str, retain_days: float) -> None:
    """Compact small files and delete files no version younger than --retain-days needs."""
    from ..lake.maintenance import optimize
    from ..present.text import optimize_summary

    click.echo(optimize_summary(optimize(data_dir, retain_days=retain_days)))


@click.command("status")
@data_dir_option
@format_option(STATUS_FORMATS, "text for people, json for scripts.")
@friendly_errors
def status_cmd(data_dir: str, fmt: str) -> None:
    """What DATA_DIR holds: tables with rows and versions, the last sync, the watermarks, the
    API version, the server and project it came from. Reads the Delta logs only."""
    from ..lake.overview import status
    from ..present.text import status_text

    got = status(data_dir)
    click.echo(got.to_json() if fmt == "json" else status_text(got))


# --- demo ---
@click.command("demo")
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
    from ..showcase import demo

    demo(data_dir, runs=runs, seed=seed)


# --- mock-server ---
@click.command("mock-server")
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
    from ..mock.process import mock_server

    mock_server(
        host,
        port,
        announce=click.echo,
        v2_reads=not no_v2,
        improve_prompt_endpoints=not no_improve_prompt,
        **settings,
    )
