"""Catalogue objects and results as the service sends them (scenarios, metrics,
personalities, agents, results), built from :mod:`catalog` and the run index; ``api`` is
``"v1"`` or ``"v2"`` where the two versions differ (see :mod:`wire`)."""

from __future__ import annotations

from typing import Any

from . import catalog as C
from . import wire as W
from .data import COMPLETED, FIRST_OPEN, STATUSES, TIMEOUT, MockData, iso
from .render import result_name, run_full

HOUR_US = 3_600_000_000
#: the contract's read-only "*_configured" flags (booleans on the wire) -> provider they belong to
_CONFIGURED = {
    "vapi_api_key_configured": "vapi", "vapi_public_key_configured": "vapi",
    "retell_api_key_configured": "retell", "elevenlabs_api_key_configured": "elevenlabs",
    "bland_api_key_configured": "bland", "livekit_api_key_configured": "livekit",
    "pipecat_api_key_configured": "pipecat", "koreai_client_secret_configured": "koreai",
    "koreai_api_key_configured": "koreai", "genesys_client_secret_configured": "genesys",
    "agentforce_client_secret_configured": "agentforce",
    "sierra_agent_token_configured": "sierra",
    "amazon_connect_security_token_configured": "amazon_connect",
    "custom_provider_api_key_configured": "custom", "synthflow_api_key_configured": "synthflow",
    "telnyx_api_key_configured": "telnyx", "webhook_secret_configured": "",
}  # fmt: skip


def created(data: MockData, k: int) -> str:
    """Creation time of catalogue object number ``k``: before the first run, one hour apart."""
    return iso(data.t0_us - 30 * 24 * HOUR_US + k * HOUR_US)


def _test_profile(data: MockData, sc: C.Scenario) -> dict[str, Any] | None:
    """The AIAgentTestProfile object of a scenario, or None."""
    if sc.test_profile is None:
        return None
    agent = C.AGENTS[sc.agent_idx]
    return {"id": sc.test_profile, "project": C.PROJECT_ID, "agent": agent.id,
            "agent_name": agent.name, "name": "Verified customer",
            "information": dict(sc.information), "created_by": C.ORG_USER_ID,
            "last_updated_by": C.ORG_USER_ID, "created_at": created(data, 0),
            "updated_at": created(data, 1)}  # fmt: skip


def scenario_list_item(data: MockData, si: int) -> dict[str, Any]:
    """A ``ScenarioList`` object (``metrics`` are metric ids, as in ``SchemaScenario``)."""
    sc = C.SCENARIOS[si]
    pers = C.PERSONALITIES[sc.personality_idx]
    agent = C.AGENTS[sc.agent_idx]
    return {
        "id": sc.id,
        "name": sc.name,
        "personality": pers.id,
        "personality_name": pers.name,
        "agent_name": agent.name,
        "phone_number": agent.contact_number,
        "expected_outcome_prompt": sc.expected_outcome_prompt,
        "instructions": sc.instructions,
        "scenario_language": sc.language,
        "scenario_type": sc.scenario_type,
        "tags": list(sc.tags),
        "agent": agent.id,
        "inbound_phone_number": None,
        "inbound_phone_number_data": None,
        "metrics": [C.METRICS[mi].id for mi in sc.metric_idx],
        "metric_names": [C.METRICS[mi].name for mi in sc.metric_idx],
        "first_message": "Hello",
        "tool_ids": ["TOOL_END_CALL"],
        "test_profile": sc.test_profile,
        "test_profile_data": _test_profile(data, sc),
        "dynamic_variable_values": None,
        "created_at": created(data, 10 + si),
        "updated_at": created(data, 200 + si),
        "created_by": C.ORG_USER_ID,
        "last_updated_by": C.ORG_USER_ID,
        "folder_path": sc.folder_path,
    }


def scenario_detail(data: MockData, si: int) -> dict[str, Any]:
    """A ``SchemaScenario`` object."""
    sc = C.SCENARIOS[si]
    d = scenario_list_item(data, si)
    for key in ("created_at", "updated_at", "created_by", "last_updated_by"):
        d.pop(key)
    d.update(
        project=C.PROJECT_ID,
        outbound_phone_number_data=None,
        simulation_description=sc.instructions.split(". ")[1] + ".",
        information_fields=dict(sc.information),
        suite_type="undefined",
        is_predefined=False,
        generated_mock_tool_entries=None,
        max_duration=None,
    )
    return d


def metric_item(data: MockData, mi: int, api: str = "v1") -> dict[str, Any]:
    """A ``MetricList`` (v1, legacy binary ``eval_type`` names) or ``MetricListSerializerV2``
    object; ``agents`` are the agents whose scenarios use the metric."""
    m = C.METRICS[mi]
    agents = sorted({C.AGENTS[s.agent_idx].id for s in C.SCENARIOS if mi in s.metric_idx})
    names = [a.name for a in C.AGENTS if a.id in agents]
    return {
        "id": m.id, "slug": m.name.lower().replace(" ", "_") + f"_{m.id}", "project": C.PROJECT_ID,
        "agents": agents, "agent_names": names, "name": m.name, "description": m.description,
        "function_name": m.function_name, "type": m.kind,
        "eval_type": m.eval_type if api == "v2" else W.legacy_type(m),
        "enum_values": list(m.enum_values), "audio_enabled": m.id == 303,
        "observability_enabled": True, "simulation_enabled": True, "sampling_enabled": False,
        "prompt": f"Evaluate: {m.description}", "display_order": mi + 1,
        "evaluation_trigger": "always", "trigger_type": "llm_judge",
        "evaluation_trigger_prompt": "", "evaluation_trigger_custom_code": "",
        "priority_assignment_prompt": "", "vocera_defined_metric_code": f"{m.id * 7919:08x}",
        "configuration": {"infra_issues_timeout": 10} if m.id == 303 else {},
        "kb_file_ids": [], "knowledge_base_files": [], "metric_cost": 0.1,
        "alert_type": "disabled", "significant_change_alert_status": "disabled",
        "significant_change_alert_direction": "", "window_size": 50, "std_multiplier": 2.0,
        "ewma_alpha": 0.1, "add_to_new_agents": False, "alert_filters": None,
        "slack_workspace": None, "slack_channel_id": None,
        "uses_llm_judge": m.kind != "custom_code",
    }  # fmt: skip


def personality_item(data: MockData, pi: int) -> dict[str, Any]:
    """A ``CreatePersonality`` object plus ``gender`` (sent by the service, not declared)."""
    p = C.PERSONALITIES[pi]
    return {
        "id": p.id, "project": C.PROJECT_ID, "name": p.name,
        "prompt": f"You are {p.name.lower()}. Speak naturally and stay in character.",
        "language": p.language, "accent": p.accent, "gender": p.gender,
        "background_noise": p.background_noise,
        "voice_model": "sonic-3.5" if p.provider == "cartesia" else "eleven_turbo_v2_5",
        "voice_id": f"{p.id * 104729:020x}"[-20:], "interruption_level": p.interruption_level,
        "speed": p.speed, "stop_speaking_plan": None, "background_sound_volume": None,
        "patronus_settings": None, "provider_agent_id": "", "end_call_enabled": True,
        "provider": p.provider,
    }  # fmt: skip


def agent_item(data: MockData, ai: int) -> dict[str, Any]:
    """An ``AIAgent`` object without write-only fields (no keys or secrets, ever)."""
    a = C.AGENTS[ai]
    d: dict[str, Any] = {
        "id": a.id, "project": C.PROJECT_ID, "agent_name": a.name,
        "contact_number": a.contact_number, "inbound": a.inbound, "description": a.description,
        "language": "en", "assistant_id": f"asst_{a.id}", "chat_assistant_id": "",
        "websocket_url": None, "websocket_headers": {}, "llm_system_prompt": a.prompt,
        "llm_model": a.llm_model, "llm_temperature": 0.0, "llm_max_tokens": 4096,
        "outbound_auto_call": not a.inbound, "sip_endpoint": None, "sip_auth": None,
        "websocket_voice_url": None, "websocket_auth": None, "knowledge_base_files": [],
        "transcript_provider": a.provider, "assistant_provider": a.provider,
        "enabled_personalities": [p.id for p in C.PERSONALITIES], "dropoff_nodes": [],
        "topic_nodes": [], "pronunciation_words": None, "spelling_word_types": None,
        "auto_update_dropoff_nodes": False, "auto_update_topic_nodes": False,
        "hallucination_metric_kb_files": [], "outbound_numbers": [],
        "created_at": created(data, ai), "updated_at": created(data, 300 + ai),
        "auto_fetch_calls_enabled": False, "auto_sync_prompt_enabled": False,
        "agent_gives_first_message": a.inbound, "email_id": None,
    }  # fmt: skip
    for flag, prov in _CONFIGURED.items():  # computed booleans sent instead of the secrets
        d[flag] = prov == a.provider
    return d


def agent_v2(data: MockData, ai: int) -> dict[str, Any]:
    """An ``AIAgentV2`` object: ``name``, ``agent_speaks_first``, and the phone/SIP/websocket
    and provider details nested under ``telephony`` and ``provider`` (no secrets). The
    description is the agent's prompt, as provider prompt sync writes it there."""
    a = C.AGENTS[ai]
    return {
        "id": a.id, "name": a.name, "description": a.prompt, "project": C.PROJECT_ID,
        "language": "en",
        "telephony": {"phone_number": a.contact_number, "inbound": a.inbound, "sip_uri": None,
                      "sip_auth": None, "websocket_url": None, "websocket_auth": None,
                      "outbound_numbers": []},
        "provider": {"type": a.provider, "agent_id": f"asst_{a.id}",
                     "credentials": {"config": None}, "chat_agent_details": None,
                     "chat_provider": a.provider, "auto_dial_outbound": not a.inbound,
                     "auto_import_calls": False, "auto_sync_prompt": False,
                     "send_post_conversation_metadata": None, "redact_fields": []},
        "agent_speaks_first": a.inbound, "knowledge_base_files": [],
        "enabled_personalities": [p.id for p in C.PERSONALITIES],
        "webhook_secret_configured": False, "mock_tools": [], "mock_tools_enabled": False,
        "mock_tools_provider": None, "dynamic_variables": [],
        "created_at": created(data, ai), "updated_at": created(data, 300 + ai), "email_id": None,
    }  # fmt: skip


def _counts(data: MockData, rows: list[dict[str, Any]], api: str) -> dict[str, Any]:
    """Status, success rate (a percentage, as every example shows) and run counts."""
    open_ = sum(1 for r in rows if r["status"] >= FIRST_OPEN)
    success = sum(1 for r in rows if data.success_of(r))
    terminal = len(rows) - open_
    evaluated = sum(1 for r in rows if r["status"] in (COMPLETED, TIMEOUT))
    counts = {
        "met_expected_outcome_count": success,
        "total_expected_outcome_count": evaluated,
        "total_runs_count": len(rows),
        "completed_runs_count": sum(1 for r in rows if r["status"] == COMPLETED),
        "success_runs_count": success,
        "failed_runs_count": terminal - success,
    }
    return {
        "status": "running" if open_ else "completed",
        "success_rate": round(100 * success / len(rows), 2) if rows else 0.0,
        **W.counts(counts, api),
    }


def _scenarios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distinct scenarios of a result's runs, as ``{id, name}``."""
    seen = dict.fromkeys(r["scen"] for r in rows)
    return [{"id": C.SCENARIOS[s].id, "name": C.SCENARIOS[s].name} for s in seen]


def result_item(
    data: MockData, res: dict[str, Any], rows: list[dict[str, Any]], api: str = "v1"
) -> dict[str, Any]:
    """A ``Result`` (list) object; ``runs`` is an array of run summaries on the list."""
    agent = C.AGENTS[res["agent"]]
    last = rows[-1]["ts"] if rows else res["ts"]
    d: dict[str, Any] = {
        "id": res["id"],
        "name": result_name(data, res["id"]),
        "agent": agent.id,
        "agent_name": agent.name,
        "agent_inbound": agent.inbound,
        "run_as_text": False,
        "is_cronjob": bool(res["cron"]),
        "runs": [
            {
                "id": r["id"],
                "scenario": C.SCENARIOS[r["scen"]].id,
                "status": STATUSES[r["status"]],
                "success": data.success_of(r),
            }
            for r in rows
        ],
        "scenarios": _scenarios(rows),
        "run_type": None,
        "agent_version": W.agent_version(data, rows[0]["ver"], res["id"], api, "result")
        if rows
        else None,
        "created_at": iso(res["ts"]),
        "updated_at": iso(last + 600_000_000),
    }
    d.update(_counts(data, rows, api))
    return d


_SUMMARY_KEYS = ("id", "scenario", "outbound_number", "expected_outcome", "success", "evaluation",
                 "timestamp", "executed_at", "error_message", "status", "duration",
                 "scenario_name", "personality_name", "metadata", "inbound_number")  # fmt: skip


def result_detail(data: MockData, res: dict[str, Any], api: str = "v1") -> dict[str, Any]:
    """A ``ResultDetailV2`` object; ``runs`` is a dict keyed by run id (string)."""
    rows = data.result_runs(res).rows(named=True)
    base = result_item(data, res, rows, api)
    full = [run_full(data, r, api) for r in rows]
    # metric definitions inside the result use the names of its era (field examples)
    legacy = res["ts"] < W.MIGRATION_US
    infra = C.METRIC_BY_ID[303]
    summary: dict[str, Any] = {}
    for mi in sorted({mi for r in rows for mi in C.SCENARIOS[r["scen"]].metric_idx}):
        m = C.METRICS[mi]
        scores = [x["score"] for f in full if f["evaluation"] for x in f["evaluation"]["metrics"]
                  if x["id"] == m.id and x["score"] is not None]  # fmt: skip
        kind = W.legacy_type(m) if legacy else m.eval_type
        summary[str(m.id)] = {"id": m.id, "name": m.name, "type": kind,
                              "score": round(sum(scores) / len(scores), 2) if scores else None,
                              "function_name": m.function_name}  # fmt: skip
    seconds = sum(W.duration_seconds(f["duration"]) for f in full)
    failed = [r["id"] for r in rows if r["status"] < FIRST_OPEN and not data.success_of(r)]
    d = {k: base[k] for k in ("id", "name", "agent", "agent_name", "agent_version", "status",
                              "met_expected_outcome_count", "total_expected_outcome_count",
                              "success_rate", "run_as_text", "is_cronjob", "total_runs_count",
                              "completed_runs_count", "success_runs_count", "failed_runs_count",
                              "scenarios", "run_type", "created_at", "updated_at")}  # fmt: skip
    d.update(
        runs={str(f["id"]): {k: f[k] for k in _SUMMARY_KEYS} for f in full},
        overall_evaluation={"success_rate": base["success_rate"], "metric_summary": summary},
        total_duration=W.duration(seconds),
        connected_runs=[f["id"] for f in full if f["transcript"]],
        not_connected_runs=[f["id"] for f in full if not f["transcript"]],
        failed_infrastructure_runs=[
            r["id"]
            for r in rows
            if r["status"] in (COMPLETED, TIMEOUT)
            and infra in C.SCENARIOS[r["scen"]].metric_idx
            and not r["bits"] >> infra & 1
        ],
        failed_workflow_runs=failed,
        successful_calls=[r["id"] for r in rows if data.success_of(r)],
        critical_categories=[
            {
                "id": v["id"],
                "name": v["name"],
                "eval_type": v["type"],
                "simulation_enabled": True,
                "observability_enabled": True,
            }
            for v in summary.values()
        ],
        metrics=[
            {"id": v["id"], "name": v["name"], "eval_type": v["type"]} for v in summary.values()
        ],
        runs_by_tags={},
        latency_data={},
        failed_reasons=None,
        ai_summary=None,
        ai_summary_status="pending" if failed else "skipped_no_failures",
        next_steps=None,
        path_coverage=None,
        performance_metrics=[],
        run_settings=None,
    )
    return d
