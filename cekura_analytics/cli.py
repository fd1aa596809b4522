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
    """``--data-dir D``: where the parquet tables live."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        required=True,
        help="Directory holding the extracted parquet tables.",
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
    """Pull Cekura test data into parquet, find where your agent fails, improve its prompt."""


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
@friendly_errors
def extract_cmd(
    base_url: str | None,
    data_dir: Path,
    since: str | None,
    full: bool,
    agent_id: int | None,
    project_id: int | None,
    concurrency: int,
    quiet: bool,
) -> None:
    """Sync runs, evaluations, transcripts and reference tables into parquet under DATA_DIR.

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
    )
    click.echo(str(summary))
