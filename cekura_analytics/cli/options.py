"""The options and error handling every command shares (one definition each)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..defaults import (
    ALPHA,
    API_VERSIONS,
    ENV_DATA_DIR,
    FORMATS,
    GATE_BY,
    JOB_CONCURRENCY,
    MAX_DROP,
    MIN_N,
)
from ..errors import CekuraError, ConfigError, os_problem

F = TypeVar("F", bound=Callable[..., Any])


#: bad input (options, settings, input files, a missing extra): the exit status of a usage
#: error, as click gives its own
EXIT_BAD_INPUT = 2


def friendly_errors(func: F, *, exit_code: int = 1) -> F:
    """Turn toolkit errors into one red line (no traceback): exit 2 for bad input
    (:class:`ConfigError`), ``exit_code`` for the rest."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CekuraError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(EXIT_BAD_INPUT if isinstance(exc, ConfigError) else exit_code)
        except OSError as exc:  # a file the command writes (e.g. report's --out)
            problem = os_problem(exc)
            if problem is None:
                raise
            where = exc.filename or "a file"
            click.secho(
                f"error: cannot write {where}: {problem}; write elsewhere (--out) or fix the "
                "disk, then rerun",
                fg="red",
                err=True,
            )
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
        envvar=ENV_DATA_DIR,
        show_envvar=True,
        help="Directory (or s3://, gs://, az:// URI) holding the extracted Delta tables "
        f"(default: ${ENV_DATA_DIR}).",
    )(func)


def as_of_option(func: F) -> F:
    """``--as-of VERSION|TIMESTAMP``: read the tables as they stood then."""
    return click.option(
        "--as-of",
        default=None,
        help="Read the data as it stood at this runs-table version (e.g. 12) or UTC "
        "date/time (e.g. 2026-06-01T09:00).",
    )(func)


def since_option(func: F) -> F:
    """``--since``: parsed by :class:`~cekura_analytics.scope.Scope`, like every date here."""
    return click.option(
        "--since",
        default=None,
        help="Only runs at or after this ISO date/time (UTC), e.g. 2026-06-01 or 2026-06-01T09:00.",
    )(func)


def agent_id_option(func: F) -> F:
    """``--agent-id``: only the runs of one agent (the other half of the scope)."""
    return click.option("--agent-id", type=int, default=None, help="Only runs of this agent.")(func)


def api_options(func: F) -> F:
    """``--base-url`` and ``--api-version``; the key comes from CEKURA_API_KEY or .env only."""
    func = click.option(
        "--api-version",
        type=click.Choice(API_VERSIONS),
        default="auto",
        show_default=True,
        help="Read runs, results, agents and metrics on v2 or v1; auto: v2, else v1 once.",
    )(func)
    return click.option(
        "--base-url",
        default=None,
        help="API base URL (default: $CEKURA_BASE_URL, $CEKURA_API_URL or https://api.cekura.ai).",
    )(func)


def parse_ids(value: str | None, option: str) -> list[int] | None:
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


def retry_options(func: F) -> F:
    """``--retry-failed`` / ``--retry-uncertain`` / ``--concurrency`` of the launch commands."""
    func = click.option(
        "--concurrency",
        type=int,
        default=JOB_CONCURRENCY,
        show_default=True,
        help="POSTs in flight.",
    )(func)
    func = click.option(
        "--retry-uncertain",
        is_flag=True,
        help="Also relaunch jobs left 'uncertain' by an interrupted launch (check the Cekura "
        "dashboard first: the interrupted request may have created the job).",
    )(func)
    flag = click.option("--retry-failed", is_flag=True, help="Also relaunch jobs that failed.")
    return flag(func)


def rules_option(func: F) -> F:
    """``--rules PATH``: the pass-rule TOML file."""
    return click.option(
        "--rules",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Pass-rule TOML file (default: DATA_DIR/cekura-analytics.toml if present).",
    )(func)


def output_options(func: F) -> F:
    """``--format``, ``--out`` and ``--raw`` for commands that print a table."""
    func = click.option(
        "--raw",
        is_flag=True,
        help="CSV: keep cells that start with = + - @ as they are (by default they get a "
        "leading ' so a spreadsheet does not run them as formulas).",
    )(func)
    func = click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write to this file instead of printing (needed for parquet).",
    )(func)
    return format_option(FORMATS, "Output format.")(func)


def format_option(choices: tuple[str, ...], help: str) -> Callable[[F], F]:
    """``--format`` (the parameter ``fmt``) from a choice list of :mod:`..defaults`; its
    first choice is the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=help,
    )


def parse_params(values: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ConfigError(f"--param {item!r}: write NAME=VALUE and use $NAME in the SQL")
        params[name.strip()] = value
    return params


def statement_text(statement: str | None, file: Path | None) -> str:
    """The SQL of ``sql``: the argument, stdin for ``-``, or the ``--file``; exactly one."""
    if (statement is None) == (file is None):
        raise ConfigError("give the SQL once: as an argument, - to read stdin, or --file F")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--file {file}: cannot read it ({exc.__class__.__name__})") from None
    return sys.stdin.read() if statement == "-" else str(statement)


def comparison_options(func: F) -> F:
    """How two versions are compared (the gate and compare-versions share them): which
    versions, the cells, and the thresholds of the one verdict rule."""
    for option in reversed(
        [
            click.option(
                "--baseline",
                default="previous",
                show_default=True,
                help="The version compared against: a label (v3), an agent-version id (4519) "
                "or 'previous' (the version before the candidate).",
            ),
            click.option(
                "--candidate",
                default="latest",
                show_default=True,
                help="The version judged: a label, an agent-version id or 'latest'.",
            ),
            click.option(
                "--by",
                type=click.Choice(GATE_BY),
                default="metric",
                show_default=True,
                help="One cell per metric, or per metric × language / personality.",
            ),
            click.option(
                "--max-drop",
                type=float,
                default=MAX_DROP,
                show_default=True,
                help="A worse cell fails the gate only when it dropped by more than this.",
            ),
            click.option(
                "--alpha", type=float, default=ALPHA, show_default=True, help="After Holm."
            ),
            click.option(
                "--min-n",
                type=int,
                default=MIN_N,
                show_default=True,
                help="Fewer results on a side (in the common scenarios): insufficient.",
            ),
        ]
    ):
        func = option(func)
    return func


def deprecated_version_options(func: F) -> F:
    """``--a``/``--b``: the old names of ``--baseline``/``--candidate`` (hidden, warn once)."""
    func = click.option("--b", "b", default=None, hidden=True)(func)
    return click.option("--a", "a", default=None, hidden=True)(func)


def renamed(old: str, new: str, value: Any, default: Any) -> Any:
    """The value of a deprecated option, with a one-line warning; else ``default``."""
    if value is None:
        return default
    click.secho(f"warning: {old} is deprecated, use {new}", fg="yellow", err=True)
    return value
