"""The tables the extractor writes: names, grain and column types (a contract).

Layout: each table is a Delta Lake table at ``<data_dir>/<table>/`` (see
:mod:`cekura_analytics.store`); read it with any Delta reader (``pl.scan_delta``,
``deltalake``, DuckDB over ``DeltaTable.file_uris()``), never by globbing its parquet files.
A column added here is added to an existing table by its next write (schema merge); the
views read it as null from files written before.
All timestamps are UTC. ``*_json`` columns hold the API value as JSON text when the
contract gives it no fixed shape; ``extra_json`` keeps fields the contract does not know.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

#: one row per run (newest extraction of each run wins)
RUNS: dict[str, pl.DataType] = {
    "run_id": pl.Int64(),
    "result_id": pl.Int64(),
    "result_name": pl.String(),
    "scenario_id": pl.Int64(),
    "scenario_name": pl.String(),
    "scenario_type": pl.String(),
    "personality_id": pl.Int64(),
    "personality_name": pl.String(),
    "agent_id": pl.Int64(),
    "agent_name": pl.String(),
    "agent_version": pl.String(),  # a readable label: version_name, else the id
    "agent_version_id": pl.Int64(),  # the agent history record id, when the API gave one
    "status": pl.String(),
    "success": pl.Boolean(),
    "evaluation_status": pl.String(),
    "is_reviewed": pl.Boolean(),
    "error_message": pl.String(),
    "duration": pl.String(),
    "duration_s": pl.Int64(),
    "timestamp": UTC_TS,
    "executed_at": UTC_TS,
    "run_as_text": pl.Boolean(),
    "run_type": pl.String(),
    "provider_call_id": pl.String(),
    "trace_id": pl.String(),
    "expected_outcome_prompt": pl.String(),
    "expected_outcome_score": pl.Float64(),
    "expected_outcome_json": pl.String(),
    "scenario_instructions": pl.String(),
    "transcript": pl.String(),
    "voice_recording_url": pl.String(),
    "feedback": pl.String(),
    "n_metrics": pl.Int64(),
    "critical_categories_json": pl.String(),
    "metadata_json": pl.String(),
    "extra_json": pl.String(),
}

#: one row per run × evaluated metric (from ``evaluation.metrics`` and ``rubric``)
RUN_METRICS: dict[str, pl.DataType] = {
    "run_id": pl.Int64(),
    "metric_id": pl.Int64(),
    "metric_name": pl.String(),
    "metric_type": pl.String(),  # the item's ``type`` as sent (legacy binary names kept)
    "eval_type": pl.String(),  # normalised: binary | numeric | continuous_qualitative | enum
    "metric_passed": pl.Boolean(),  # the item's own ``passed`` (canonical binary, since 2026-07)
    "score": pl.Float64(),
    "value": pl.String(),
    "enum": pl.String(),
    "explanation": pl.String(),
    "rubric_passed": pl.Boolean(),
    "rubric_conditions": pl.String(),
    "rubric_value": pl.String(),
    "extra_json": pl.String(),
}

#: one row per scenario (evaluator)
SCENARIOS: dict[str, pl.DataType] = {
    "scenario_id": pl.Int64(),
    "name": pl.String(),
    "agent_id": pl.Int64(),
    "agent_name": pl.String(),
    "personality_id": pl.Int64(),
    "personality_name": pl.String(),
    "scenario_language": pl.String(),
    "scenario_type": pl.String(),
    "tags": pl.List(pl.String()),
    "folder_path": pl.String(),
    "instructions": pl.String(),
    "expected_outcome_prompt": pl.String(),
    "first_message": pl.String(),
    "metric_ids": pl.List(pl.Int64()),
    "metric_names": pl.List(pl.String()),
    "test_profile_id": pl.Int64(),
    "created_at": UTC_TS,
    "updated_at": UTC_TS,
    "extra_json": pl.String(),
}

#: one row per personality (simulated caller)
PERSONALITIES: dict[str, pl.DataType] = {
    "personality_id": pl.Int64(),
    "name": pl.String(),
    "language": pl.String(),
    "accent": pl.String(),
    "gender": pl.String(),
    "background_noise": pl.String(),
    "voice_model": pl.String(),
    "voice_id": pl.String(),
    "interruption_level": pl.String(),
    "speed": pl.String(),
    "provider": pl.String(),
    "prompt": pl.String(),
    "extra_json": pl.String(),
}

#: one row per metric definition
METRICS: dict[str, pl.DataType] = {
    "metric_id": pl.Int64(),
    "name": pl.String(),
    "slug": pl.String(),
    "description": pl.String(),
    "type": pl.String(),
    "eval_type": pl.String(),
    "enum_values": pl.List(pl.String()),
    "agent_ids": pl.List(pl.Int64()),
    "project_id": pl.Int64(),
    "display_order": pl.Int64(),
    "extra_json": pl.String(),
}

#: one row per result (a batch of runs started together)
RESULTS: dict[str, pl.DataType] = {
    "result_id": pl.Int64(),
    "name": pl.String(),
    "agent_id": pl.Int64(),
    "agent_name": pl.String(),
    "agent_version": pl.String(),
    "agent_version_id": pl.Int64(),
    "status": pl.String(),
    "success_rate": pl.Float64(),  # always 0–1 (the API sends 0–1 or 0–100; scale detected)
    "run_as_text": pl.Boolean(),
    "is_cronjob": pl.Boolean(),
    "run_type": pl.String(),
    "total_runs_count": pl.Int64(),
    "completed_runs_count": pl.Int64(),
    "success_runs_count": pl.Int64(),
    "failed_runs_count": pl.Int64(),
    "met_expected_outcome_count": pl.Int64(),
    "total_expected_outcome_count": pl.Int64(),
    "created_at": UTC_TS,
    "updated_at": UTC_TS,
    "extra_json": pl.String(),
}

#: one row per agent under test (no secrets: the API never returns write-only keys)
AGENTS: dict[str, pl.DataType] = {
    "agent_id": pl.Int64(),
    "agent_name": pl.String(),
    "project_id": pl.Int64(),
    "description": pl.String(),
    "language": pl.String(),
    "inbound": pl.Boolean(),
    "assistant_provider": pl.String(),
    "transcript_provider": pl.String(),
    "llm_model": pl.String(),
    "llm_system_prompt": pl.String(),
    "agent_speaks_first": pl.Boolean(),  # v1: agent_gives_first_message
    "provider_json": pl.String(),  # v2 ``provider`` (type, ids; never keys: the API hides them)
    "telephony_json": pl.String(),  # v2 ``telephony``; v1 phone/SIP/websocket fields
    "created_at": UTC_TS,
    "updated_at": UTC_TS,
    "extra_json": pl.String(),
}

#: run statuses after which a run no longer changes by itself (compared in lower case; the
#: views get them as the SQL macro is_terminal_status)
TERMINAL_STATUSES = frozenset({"completed", "failed", "timeout", "cancelled"})


def is_terminal(status: str | None) -> bool:
    """True when a run with this status no longer changes (``"Completed"`` counts)."""
    return isinstance(status, str) and status.strip().lower() in TERMINAL_STATUSES


def is_terminal_expr(column: str = "status") -> pl.Expr:
    """:func:`is_terminal` as a polars expression."""
    return pl.col(column).str.strip_chars().str.to_lowercase().is_in(list(TERMINAL_STATUSES))


#: metric kinds as the API has named them over time -> the canonical ``eval_type``
#: (legacy binary items say ``binary_workflow_adherence`` / ``binary_qualitative``)
EVAL_TYPE_ALIASES = {
    "binary_workflow_adherence": "binary",
    "binary_qualitative": "binary",
}


def normalize_eval_type(value: str | None) -> str | None:
    """``'Continuous-Qualitative'`` -> ``'continuous_qualitative'``, legacy binary -> ``'binary'``.

    ``sql/00_macros.sql``'s ``norm_eval_type`` is the same rule in SQL.
    """
    if not isinstance(value, str):
        return None
    out = value.strip().lower().replace("-", "_").replace(" ", "_")
    return EVAL_TYPE_ALIASES.get(out, out) or None


#: the improve-job ledger ``<data_dir>/improve_jobs/`` (one row per job; written by
#: :mod:`cekura_analytics.improve.ledger`)
IMPROVE_JOBS: dict[str, pl.DataType] = {
    "job_id": pl.String(),  # "<kind>:<run or scenario id>:<sha256[:16] of the input>"
    "kind": pl.String(),  # "prompt" (runs/improve_prompt_bg) | "instructions" (scenarios)
    "run_id": pl.Int64(),  # the run the prompt job learns from (null for instructions)
    "scenario_id": pl.Int64(),  # the run's scenario, or the scenario being improved
    "agent_id": pl.Int64(),
    "prompt_sha256": pl.String(),  # sha256 of the submitted text (prompt or instructions)
    "prompt": pl.String(),  # the submitted text: the diff's left side
    "extra_instructions": pl.String(),  # instructions jobs only
    "progress_id": pl.String(),
    "project_id": pl.Int64(),  # returned by scenarios/improve_instructions
    "status": pl.String(),  # see cekura_analytics.ledger for the state machine
    "created_at": UTC_TS,  # the intent was recorded (before the POST)
    "launched_at": UTC_TS,  # the POST answered with a progress_id
    "finished_at": UTC_TS,
    "last_polled_at": UTC_TS,
    "attempts": pl.Int64(),  # POSTs sent for this job_id (relaunches included)
    "polls": pl.Int64(),  # progress GETs answered for the current progress_id
    "improved_prompt": pl.String(),  # improved prompt, or improved instructions
    "summary_of_changes": pl.String(),
    "error": pl.String(),  # why the job failed (API error text or HTTP error)
    "message": pl.String(),  # what the toolkit wants the user to know / do next
    "mode_id": pl.String(),  # the failure mode the job's run was picked for (--per-mode)
}

#: failure modes (written by :mod:`cekura_analytics.analysis.modes`): one row per mode --
#: what it is and what incremental assignment needs (its centre)
FAILURE_MODES: dict[str, pl.DataType] = {
    "mode_id": pl.String(),  # "fm-" + sha256(metric id, heaviest centre terms)[:10]
    "metric_id": pl.Int64(),
    "metric_name": pl.String(),
    "label": pl.String(),  # the most distinctive terms, " · "-joined
    "top_terms": pl.List(pl.String()),  # the heaviest centre terms (the id's input)
    "example_run_id": pl.Int64(),  # the member closest to the centre
    "example_explanation": pl.String(),  # its explanation (untrusted text: escape it)
    "centre_terms": pl.List(pl.String()),  # the centre, sparse: terms ...
    "centre_weights": pl.List(pl.Float64()),  # ... and weights (unit length before pruning)
    "floor": pl.Float64(),  # a new failure less similar than this opens a new mode
    "origin": pl.String(),  # "cluster" (a full clustering) | "incremental" (a new mode)
    "created_at": UTC_TS,
}

#: one row per failed result with a mode: (run_id, metric_id) -> mode_id
FAILURE_MODE_MEMBERS: dict[str, pl.DataType] = {
    "run_id": pl.Int64(),
    "metric_id": pl.Int64(),
    "mode_id": pl.String(),
    "similarity": pl.Float64(),  # cosine of the explanation to the mode's centre
    "assigned_by": pl.String(),  # "cluster" | "nearest" (incremental) | "new_mode"
    "assigned_at": UTC_TS,
}

#: one row per metric × term: the TF-IDF vocabulary the centres live in
FAILURE_MODE_VOCAB: dict[str, pl.DataType] = {
    "metric_id": pl.Int64(),
    "term": pl.String(),
    "idf": pl.Float64(),
}


@dataclass(frozen=True)
class Table:
    """One table of a data dir: its grain, key, columns and which command writes it."""

    name: str
    grain: str
    key: tuple[str, ...]
    schema: dict[str, pl.DataType]
    #: ``extract`` (the API's data), ``improve`` (the job ledger) or ``failure-modes``
    writer: str


#: every table a data dir holds, in the order readers load them (``runs`` first, then
#: ``run_metrics``: see :mod:`.store`). optimize, --repair, the views and the tests all
#: read this one list.
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("runs", "one row per run", ("run_id",), RUNS, "extract"),
        Table(
            "run_metrics",
            "one row per run × evaluated metric",
            ("run_id", "metric_id"),
            RUN_METRICS,
            "extract",
        ),
        Table("scenarios", "one row per scenario", ("scenario_id",), SCENARIOS, "extract"),
        Table(
            "personalities",
            "one row per personality",
            ("personality_id",),
            PERSONALITIES,
            "extract",
        ),
        Table("metrics", "one row per metric", ("metric_id",), METRICS, "extract"),
        Table("results", "one row per result", ("result_id",), RESULTS, "extract"),
        Table("agents", "one row per agent", ("agent_id",), AGENTS, "extract"),
        Table("improve_jobs", "one row per improve job", ("job_id",), IMPROVE_JOBS, "improve"),
        Table(
            "failure_modes",
            "one row per failure mode",
            ("mode_id",),
            FAILURE_MODES,
            "failure-modes",
        ),
        Table(
            "failure_mode_members",
            "one row per failed result with a mode",
            ("run_id", "metric_id"),
            FAILURE_MODE_MEMBERS,
            "failure-modes",
        ),
        Table(
            "failure_mode_vocab",
            "one row per metric × term",
            ("metric_id", "term"),
            FAILURE_MODE_VOCAB,
            "failure-modes",
        ),
    )
}

#: the tables ``extract`` writes (the API's data), and their columns and keys
EXTRACTED: tuple[str, ...] = tuple(n for n, t in TABLES.items() if t.writer == "extract")
SCHEMAS: dict[str, dict[str, pl.DataType]] = {n: TABLES[n].schema for n in EXTRACTED}
KEYS: dict[str, tuple[str, ...]] = {n: TABLES[n].key for n in EXTRACTED}


def schema(table: str) -> dict[str, pl.DataType]:
    """The columns of any table of a data dir."""
    return TABLES[table].schema
