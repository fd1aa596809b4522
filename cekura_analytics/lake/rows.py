"""API objects → rows of the parquet tables (:mod:`cekura_analytics.tables`).

Pure functions, no I/O. Values the contract leaves untyped are normalised here once, in
every form the live service has sent (shared/cekura-api/README.md): ``agent_version`` (null,
int, string or a history-record object) to a label and an id, ``"MM:SS"``/``"M:SS"``/
``"H:MM:SS"`` durations to seconds, counts sent as strings to integers, ``success_rate`` on
0–1 or 0–100 to 0–1, ``explanation`` as a list or a string to text, legacy binary metric
types to ``binary``, v1 and v2 agents to one row shape, free-form objects to JSON text.
Fields the contract does not know land in ``extra_json`` so schema drift never loses data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from ..api import models as m
from .normalize import (
    duration_seconds,
    fraction,
    int_list,
    label,
    str_list,
    text,
    to_bool,
    to_int,
    to_json,
    to_str,
    version_id,
)
from .tables import SCHEMAS, normalize_eval_type


def _extra(obj: m.ApiModel) -> str | None:
    return to_json(obj.model_extra or None)


def run_row(run: m.Run) -> dict[str, Any]:
    """One ``runs`` row."""
    eo = run.expected_outcome
    return {
        "run_id": run.id,
        "result_id": run.result_id,
        "result_name": to_str(run.result_name),
        "scenario_id": run.scenario,
        "scenario_name": to_str(run.scenario_name),
        "scenario_type": to_str(run.scenario_type),
        "personality_id": run.personality,
        "personality_name": to_str(run.personality_name),
        "agent_id": run.agent,
        "agent_name": to_str(run.agent_name),
        "agent_version": label(run.agent_version),
        "agent_version_id": version_id(run.agent_version),
        "status": run.status,
        "success": run.success,
        "evaluation_status": run.evaluation_status,
        "is_reviewed": run.is_reviewed,
        "error_message": run.error_message or None,
        "duration": to_str(run.duration),
        "duration_s": duration_seconds(run.duration),
        "timestamp": run.timestamp,
        "executed_at": run.executed_at,
        "run_as_text": run.run_as_text,
        "run_type": to_str(run.run_type),
        "provider_call_id": to_str(run.provider_call_id),
        "trace_id": run.trace_id,
        "expected_outcome_prompt": to_str(run.expected_outcome_prompt),
        "expected_outcome_score": (
            float(eo["score"])
            if isinstance(eo, dict) and isinstance(eo.get("score"), int | float)
            else None
        ),
        "expected_outcome_json": to_json(eo),
        "scenario_instructions": run.scenario_instructions,
        "transcript": to_str(run.transcript),
        "voice_recording_url": to_str(run.voice_recording_url),
        "feedback": run.feedback,
        "n_metrics": None,  # filled by run_rows once the metric rows are known
        "critical_categories_json": to_json(
            [c.model_dump(exclude_none=True) for c in run.critical_categories or []]
        ),
        "metadata_json": to_json(run.metadata),
        "extra_json": _extra(run),
    }


def metric_rows(run: m.Run) -> list[dict[str, Any]]:
    """``run_metrics`` rows: one per metric the evaluation or the rubric scored."""
    rubric = {r.metric_id: r for r in m.rubric_entries(run) if r.metric_id is not None}
    rows: dict[int, dict[str, Any]] = {}
    evaluated = run.evaluation.metrics if run.evaluation and run.evaluation.metrics else []
    for res in evaluated:
        if res.id is None or res.id in rows:
            continue
        r = rubric.get(res.id)
        rows[res.id] = {
            "run_id": run.id,
            "metric_id": res.id,
            "metric_name": res.name,
            "metric_type": res.type,
            "eval_type": normalize_eval_type(res.eval_type or res.type),
            "metric_passed": res.passed,
            "score": res.score,
            "value": to_str(res.value),
            "enum": to_str(res.enum),
            "explanation": text(res.explanation),
            "rubric_passed": r.passed if r else None,
            "rubric_conditions": r.conditions if r else None,
            "rubric_value": to_str(r.value) if r else None,
            "extra_json": to_json({**(res.extra or {}), **(res.model_extra or {})} or None),
        }
    for mid, r in rubric.items():
        if mid in rows:
            continue
        rows[mid] = {
            "run_id": run.id,
            "metric_id": mid,
            "metric_name": r.metric_name,
            "metric_type": None,
            "eval_type": None,
            "metric_passed": None,
            "score": None,
            "value": None,
            "enum": None,
            "explanation": text(r.explanation),
            "rubric_passed": r.passed,
            "rubric_conditions": r.conditions,
            "rubric_value": to_str(r.value),
            "extra_json": _extra(r),
        }
    return list(rows.values())


def run_frames(runs: Iterable[m.Run]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``runs`` and ``run_metrics`` frames for a batch of full runs."""
    run_list: list[dict[str, Any]] = []
    metric_list: list[dict[str, Any]] = []
    for run in runs:
        row = run_row(run)
        mrows = metric_rows(run)
        row["n_metrics"] = len(mrows)
        run_list.append(row)
        metric_list.extend(mrows)
    return frame("runs", run_list), frame("run_metrics", metric_list)


def frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A frame with exactly the table's schema, whatever keys the rows have."""
    schema = SCHEMAS[table]
    if not rows:
        return pl.DataFrame(schema=schema)
    try:
        return pl.from_dicts(rows, schema=schema)
    except (pl.exceptions.ComputeError, TypeError, ValueError):
        # A value of an unexpected type: the slower column path casts what it can.
        cols = {name: [r.get(name) for r in rows] for name in schema}
        return pl.DataFrame(cols, schema=schema, strict=False)


def scenario_row(s: m.ScenarioList) -> dict[str, Any]:
    """One ``scenarios`` row."""
    return {
        "scenario_id": s.id,
        "name": s.name,
        "agent_id": s.agent,
        "agent_name": to_str(s.agent_name),
        "personality_id": s.personality,
        "personality_name": to_str(s.personality_name),
        "scenario_language": s.scenario_language,
        "scenario_type": s.scenario_type,
        "tags": str_list(s.tags),
        "folder_path": s.folder_path,
        "instructions": to_str(s.instructions),
        "expected_outcome_prompt": to_str(s.expected_outcome_prompt),
        "first_message": s.first_message,
        "metric_ids": int_list(s.metrics),
        "metric_names": str_list(s.metric_names),
        "test_profile_id": s.test_profile,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "extra_json": _extra(s),
    }


def personality_row(p: m.Personality) -> dict[str, Any]:
    """One ``personalities`` row (``gender`` is sent though the contract omits it)."""
    extra = dict(p.model_extra or {})
    gender = extra.pop("gender", None)
    return {
        "personality_id": p.id,
        "name": p.name,
        "language": p.language,
        "accent": p.accent,
        "gender": to_str(gender),
        "background_noise": to_str(p.background_noise),
        "voice_model": to_str(p.voice_model),
        "voice_id": to_str(p.voice_id),
        "interruption_level": to_str(p.interruption_level),
        "speed": to_str(p.speed),
        "provider": p.provider,
        "prompt": p.prompt,
        "extra_json": to_json(extra or None),
    }


def metric_def_row(x: m.Metric | m.MetricV2) -> dict[str, Any]:
    """One ``metrics`` row (v1 or v2 list item; legacy eval types normalised)."""
    return {
        "metric_id": x.id,
        "name": x.name,
        "slug": x.slug,
        "description": x.description,
        "type": x.type,
        "eval_type": normalize_eval_type(x.eval_type),
        "enum_values": str_list(x.enum_values),
        "agent_ids": [a for a in x.agents or [] if a is not None],
        "project_id": x.project,
        "display_order": x.display_order,
        "extra_json": _extra(x),
    }


def result_row(r: m.Result) -> dict[str, Any]:
    """One ``results`` row."""
    return {
        "result_id": r.id,
        "name": r.name,
        "agent_id": r.agent,
        "agent_name": to_str(r.agent_name),
        "agent_version": label(r.agent_version),
        "agent_version_id": version_id(r.agent_version),
        "status": r.status,
        "success_rate": fraction(
            r.success_rate, r.success_runs_count, r.completed_runs_count or r.total_runs_count
        ),
        "run_as_text": r.run_as_text,
        "is_cronjob": to_bool(r.is_cronjob),
        "run_type": to_str(r.run_type),
        "total_runs_count": to_int(r.total_runs_count),
        "completed_runs_count": to_int(r.completed_runs_count),
        "success_runs_count": to_int(r.success_runs_count),
        "failed_runs_count": to_int(r.failed_runs_count),
        "met_expected_outcome_count": to_int(r.met_expected_outcome_count),
        "total_expected_outcome_count": to_int(r.total_expected_outcome_count),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "extra_json": _extra(r),
    }


def agent_row(a: m.Agent | m.AgentV2) -> dict[str, Any]:
    """One ``agents`` row from a v1 agent or a v2 one (``name``, nested provider/telephony)."""
    extra = dict(a.model_extra or {})
    if isinstance(a, m.AgentV2):
        provider = a.provider if isinstance(a.provider, dict) else {}
        telephony = a.telephony if isinstance(a.telephony, dict) else {}
        return {
            "agent_id": a.id,
            "agent_name": a.name,
            "project_id": a.project,
            "description": a.description,
            "language": a.language,
            "inbound": to_bool(telephony.get("inbound")),
            "assistant_provider": to_str(provider.get("type")),
            "transcript_provider": to_str(extra.pop("transcript_provider", None)),
            "llm_model": to_str(extra.pop("llm_model", None)),
            "llm_system_prompt": to_str(extra.pop("llm_system_prompt", None)),
            "agent_speaks_first": a.agent_speaks_first,
            "provider_json": to_json(a.provider),
            "telephony_json": to_json(a.telephony),
            "created_at": a.created_at,
            "updated_at": a.updated_at,
            "extra_json": to_json(extra or None),
        }
    telephony_v1 = {
        k: getattr(a, k)
        for k in ("contact_number", "sip_endpoint", "websocket_url", "websocket_voice_url")
        if getattr(a, k) not in (None, "")
    }
    return {
        "agent_id": a.id,
        "agent_name": a.agent_name,
        "project_id": a.project,
        "description": a.description,
        "language": a.language,
        "inbound": a.inbound,
        "assistant_provider": a.assistant_provider,
        "transcript_provider": a.transcript_provider,
        "llm_model": a.llm_model,
        "llm_system_prompt": a.llm_system_prompt,
        "agent_speaks_first": a.agent_gives_first_message,
        "provider_json": to_json({"type": a.assistant_provider} if a.assistant_provider else None),
        "telephony_json": to_json(telephony_v1 or None),
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "extra_json": to_json(extra or None),
    }
