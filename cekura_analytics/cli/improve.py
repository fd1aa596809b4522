"""The ``improve`` group: launch, instructions, collect, show and impact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..defaults import ALPHA, JOB_CONCURRENCY, MIN_N
from .options import (
    api_options,
    as_of_option,
    data_dir_option,
    friendly_errors,
    output_options,
    parse_ids,
    retry_options,
    rules_option,
)


@click.group("improve")
def improve_group() -> None:
    """Improve-prompt and improve-instructions jobs: launch once, collect, show the diffs.

    Every job is recorded in DATA_DIR/improve_jobs/ before it is sent, so rerunning a
    command never launches a job twice; see `improve launch --help` for the statuses.
    """


@improve_group.command("launch")
@api_options
@data_dir_option
@click.option(
    "--agent-id",
    type=int,
    default=None,
    help="The agent whose prompt this is (needed when the runs are of several agents); "
    "--outliers and --per-mode pick among its current version's runs.",
)
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
@retry_options
@friendly_errors
def improve_launch_cmd(
    base_url: str | None,
    api_version: str,
    data_dir: str,
    agent_id: int | None,
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

    The runs must be in DATA_DIR (run extract first; an unknown id sends nothing) and of one
    agent; runs that failed no metric are skipped. --outliers and --per-mode pick among the
    runs of the agent's current version.

    Jobs the ledger already holds are not sent again (statuses: queued, in_progress,
    completed, no_change, failed, uncertain). 'uncertain' means an earlier launch was cut
    off after its request may have reached Cekura: it is only relaunched with
    --retry-uncertain. The API key comes from CEKURA_API_KEY or a .env file.
    """
    from ..improve.jobs import improve_launch
    from ..present.text import jobs_summary

    df = improve_launch(
        data_dir,
        parse_ids(run_ids, "--run-ids"),
        prompt_file,
        agent_id=agent_id,
        outliers=outliers,
        per_mode=per_mode,
        top_modes=top_modes,
        concurrency=concurrency,
        retry_failed=retry_failed,
        retry_uncertain=retry_uncertain,
        base_url=base_url,
        api_version=api_version,
    )
    click.echo(jobs_summary(df))


@improve_group.command("instructions")
@api_options
@data_dir_option
@click.option("--scenario-ids", required=True, help="Comma-separated scenario ids.")
@click.option(
    "--extra-instructions", required=True, help="What the improved instructions should change."
)
@retry_options
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
    from ..improve.jobs import improve_instructions
    from ..present.text import jobs_summary

    df = improve_instructions(
        data_dir,
        parse_ids(scenario_ids, "--scenario-ids") or [],
        extra_instructions,
        concurrency=concurrency,
        retry_failed=retry_failed,
        retry_uncertain=retry_uncertain,
        base_url=base_url,
        api_version=api_version,
    )
    click.echo(jobs_summary(df))


@improve_group.command("collect")
@api_options
@data_dir_option
@click.option("--timeout", type=float, default=600, show_default=True, help="Give up after S s.")
@click.option("--poll", type=float, default=2.0, show_default=True, help="First poll interval.")
@click.option("--job-id", "job_ids", multiple=True, help="Only this job (repeatable).")
@click.option(
    "--concurrency", type=int, default=JOB_CONCURRENCY, show_default=True, help="GETs in flight."
)
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
    from ..improve.jobs import improve_collect
    from ..present.text import jobs_summary

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
    click.echo(jobs_summary(df) if df.height else "no open improve jobs to collect")


@improve_group.command("show")
@data_dir_option
@click.option("--job-id", default=None, help="Only this job (any status).")
@friendly_errors
def improve_show_cmd(data_dir: str, job_id: str | None) -> None:
    """Show finished jobs with a unified diff of the current → improved prompt (or instructions)."""
    from ..improve.jobs import improve_show
    from ..present.text import JobDiffs

    click.echo(str(JobDiffs(improve_show(data_dir, job_id=job_id), data_dir)))


# --- improve impact ---
@improve_group.command("impact")
@data_dir_option
@click.option("--alpha", type=float, default=ALPHA, show_default=True, help="After Holm.")
@click.option("--min-n", type=int, default=MIN_N, show_default=True, help="Fewer: no evidence.")
@click.option("--agent-id", type=int, default=None, help="Only jobs of this agent.")
@output_options
@as_of_option
@rules_option
@friendly_errors
def improve_impact_cmd(
    data_dir: str, fmt: str, out: Path | None, raw: bool, **settings: Any
) -> None:
    """Did the suggestions work? Each finished job's targeted metrics, before → after.

    Before: the agent version the job's run used; after: the agent's next version first seen
    after the job finished. Verdict: improved, no evidence, worse or not yet shipped (one-sided
    tests as in `gate`, Holm-corrected over all jobs and metrics). The table shows the
    essentials; csv, json and parquet carry every column (counts, p-values, the reason).
    """
    from ..improve.impact import improve_impact
    from ..present.output import render
    from ..present.text import impact_for_people

    df = improve_impact(data_dir, **settings)
    click.echo(render(impact_for_people(df) if fmt == "table" else df, fmt, out, raw=raw))
