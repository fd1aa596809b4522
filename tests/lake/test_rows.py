"""API objects -> rows, in every shape the live service has sent (shared/cekura-api/examples)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from cekura_analytics.api import models as m
from cekura_analytics.lake import rows
from cekura_analytics.lake.store import Store
from cekura_analytics.warehouse.connection import query

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "cekura-api" / "examples"

#: the verdict each documented metric item implies, read off the example by hand
#: (None: the example alone decides nothing, e.g. a numeric score with no rubric or rule;
#: typed templates carry "integer" for ids, so they give no metric row at all)
IMPLIED: dict[str, list[bool | None]] = {
    "calllog_v1_detail_docapi_legacy_binary.json": [True],
    "metric_item_binary_canonical_eval_type_passed_false.json": [False],
    "metric_item_binary_canonical_eval_type_passed_true.json": [True],
    "metric_item_binary_qualitative_legacy_score5.json": [True],
    "metric_item_binary_workflow_adherence_legacy_score0.json": [False],
    "metric_item_binary_workflow_adherence_legacy_score5.json": [True],
    "metric_item_binary_workflow_adherence_with_extra_categories.json": [False],
    "metric_item_numeric_latency.json": [None],
    "metric_item_type_binary_score_int0_post_cek7539.json": [False],
    "metric_item_typed_template_all_types_v2.json": [],
    "result_detail_typed_template_v1_legacy_types.json": [],
    "result_detail_typed_template_v2_post_cek7539.json": [],
    "result_v1_detail_docapi_legacy_binary.json": [True],
    "run_v1_bulk_docapi.json": [None],
    "webhook_call_log_completed_canonical_binary.json": [True],
    "webhook_call_log_completed_canonical_binary_2.json": [True],
    "webhook_call_log_completed_legacy_binary_score5.json": [True],
    "webhook_cronjob_result_completed_canonical_binary_fail.json": [False],
    "webhook_cronjob_result_completed_canonical_binary_pass.json": [True],
    "webhook_cronjob_result_completed_legacy_binary_score5.json": [True],
    "webhook_result_completed_failed_canonical_binary.json": [False],
    "webhook_result_completed_failed_legacy_binary_score0.json": [False],
    "webhook_result_completed_success_no_metrics.json": [],
}


def _payload(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())["payload"]


def _runs_in(payload: Any) -> list[dict[str, Any]]:
    """Every object carrying ``evaluation.metrics`` (a run or call log), depth first."""
    found: list[dict[str, Any]] = []
    if isinstance(payload, dict):
        if isinstance((payload.get("evaluation") or {}).get("metrics"), list):
            found.append(payload)
        found += [r for k, v in payload.items() if k != "evaluation" for r in _runs_in(v)]
    elif isinstance(payload, list):
        found += [r for v in payload for r in _runs_in(v)]
    return found


def _verdicts(runs: list[m.Run], where: Path) -> list[bool | None]:
    """What ``metric_results`` (the pass rule's one definition) decides for the runs' metric
    items, once the extractor's rows are stored: in the items' order."""
    for i, run in enumerate(runs, start=1):
        run.id = i  # call logs and templates carry other ids (or none)
    runs_df, metrics_df = rows.run_frames(runs)
    if metrics_df.is_empty():
        return []
    with Store(where, lock=True) as store:
        store.upsert_runs(runs_df, metrics_df)
    got = query(where, "select run_id, metric_id, passed from metric_results")
    decided = {(r, mid): p for r, mid, p in got.iter_rows()}
    return [decided[(r["run_id"], r["metric_id"])] for r in metrics_df.iter_rows(named=True)]


def test_every_metric_example_is_listed() -> None:
    """A new example with metric items must get its implied verdict written down here."""
    with_items = {
        f.name
        for f in EXAMPLES.glob("*.json")
        if f.name != "INDEX.json"
        and (f.name.startswith("metric_item") or _runs_in(_payload(f.name)))
    }
    assert with_items == set(IMPLIED)


@pytest.mark.parametrize("name", sorted(IMPLIED))
def test_example_parses_and_gets_its_implied_verdict(name: str, tmp_path: Path) -> None:
    payload = _payload(name)
    objects = (
        [{"id": 1, "evaluation": {"metrics": [payload]}}]
        if name.startswith("metric_item")
        else _runs_in(payload)
    )
    # call logs and webhook runs are not Runs, but their evaluation items are the same objects
    parsed = m.parse_items(m.Run, objects, what=name, shapes=m.ShapeLog())
    assert _verdicts(parsed, tmp_path / "d") == IMPLIED[name]


def test_canonical_item_keeps_its_own_passed_and_normalised_type() -> None:
    item = _payload("metric_item_binary_canonical_eval_type_passed_false.json")
    run = m.parse_items(m.Run, [{"id": 9, "evaluation": {"metrics": [item]}}], what="t",
                        shapes=m.ShapeLog())[0]  # fmt: skip
    (row,) = rows.metric_rows(run)
    assert (row["metric_type"], row["eval_type"], row["metric_passed"]) == (None, "binary", False)
    assert row["explanation"].startswith("This metric is designed")


@pytest.mark.parametrize(
    ("sent", "kept_type", "eval_type"),
    [
        ("binary_workflow_adherence", "binary_workflow_adherence", "binary"),
        ("binary_qualitative", "binary_qualitative", "binary"),
        ("Continuous-Qualitative", "Continuous-Qualitative", "continuous_qualitative"),
        ("enum", "enum", "enum"),
    ],
)
def test_metric_type_is_kept_raw_and_normalised(sent: str, kept_type: str, eval_type: str) -> None:
    run = m.Run.model_validate({"id": 1, "evaluation": {"metrics": [{"id": 3, "type": sent}]}})
    (row,) = rows.metric_rows(run)
    assert (row["metric_type"], row["eval_type"]) == (kept_type, eval_type)


@pytest.mark.parametrize(
    ("explanation", "text"),
    [("", None), (["a", "b"], "a\nb"), ("one line", "one line"), ([], None), (None, None)],
)
def test_explanation_as_string_or_list(explanation: Any, text: str | None) -> None:
    item = {"id": 3, "type": "numeric", "score": 1.5, "explanation": explanation}
    run = m.Run.model_validate({"id": 1, "evaluation": {"metrics": [item]}})
    assert rows.metric_rows(run)[0]["explanation"] == text


@pytest.mark.parametrize(
    ("sent", "label", "version_id"),
    [
        (None, None, None),
        (4519, "4519", 4519),
        ("4519", "4519", 4519),
        ("v3-prod", "v3-prod", None),
        ({"history_id": 4519, "version_id": 3, "version_name": "v3"}, "v3", 4519),
        ({"history_id": 4519, "version_id": 3, "version_name": None}, "3", 4519),
        ({"version_id": 7}, "7", 7),
    ],
)
def test_agent_version_label_and_id(sent: Any, label: str | None, version_id: int | None) -> None:
    run = m.Run.model_validate({"id": 1, "agent_version": sent})
    row = rows.run_row(run)
    assert (row["agent_version"], row["agent_version_id"]) == (label, version_id)


def test_results_example_with_percent_rate() -> None:
    page = _payload("result_v1_list_paginated_docapi.json")
    results = m.parse_items(m.Result, page["results"], what="results", shapes=m.ShapeLog())
    assert [rows.result_row(r)["success_rate"] for r in results] == [1.0, 1.0]


def test_counts_sent_as_strings() -> None:
    r = m.Result.model_validate({"id": 1, "total_runs_count": "12", "success_runs_count": "9"})
    row = rows.result_row(r)
    assert (row["total_runs_count"], row["success_runs_count"]) == (12, 9)


def test_v1_and_v2_agents_give_the_same_row_shape() -> None:
    v1 = m.parse_items(m.Agent, _payload("aiagent_v1_list_docapi.json"), what="v1",
                       shapes=m.ShapeLog())[0]  # fmt: skip
    v2 = m.AgentV2.model_validate(_payload("aiagent_v2_create_201_openapi.json"))
    a, b = rows.agent_row(v1), rows.agent_row(v2)
    assert a.keys() == b.keys()
    assert (a["agent_name"], a["inbound"]) == ("Agent A", True)
    assert (b["agent_name"], b["inbound"], b["assistant_provider"]) == (
        "Support Bot",
        True,
        "custom",
    )
    assert json.loads(b["telephony_json"])["phone_number"] == "+14155551234"
    assert "mock_tools" not in (b["extra_json"] or "")  # declared v2 fields are not "extra"


@pytest.mark.parametrize(
    "name", ["transcript_object_calllog_schema_example.json",
             "transcript_object_v1_runs_bulk_with_function_calls.json"],
)  # fmt: skip
def test_transcript_objects_parse(name: str) -> None:
    turns = _payload(name)
    run = m.parse_items(m.Run, [{"id": 1, "transcript_object": turns}], what=name,
                        shapes=m.ShapeLog())[0]  # fmt: skip
    assert run.transcript_object is not None and len(run.transcript_object) == len(turns)


def test_unexpected_types_keep_the_row_and_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    runs = [
        {"id": i, "status": ["completed"], "success": True,
         "evaluation": {"metrics": [{"id": 1, "type": "binary", "score": "high"}]}}
        for i in range(3)
    ]  # fmt: skip
    shapes = m.ShapeLog()
    with caplog.at_level(logging.WARNING, logger="cekura_analytics.shapes"):
        parsed = m.parse_items(m.Run, runs, what="GET /runs/bulk/", shapes=shapes)
    assert [r.id for r in parsed] == [0, 1, 2]
    assert shapes.seen == {
        "GET /runs/bulk/: status": 3,
        "GET /runs/bulk/: evaluation.metrics.score": 3,
    }
    assert len(caplog.records) == 2  # one line per field, not per value
    row = rows.run_row(parsed[0])
    assert row["status"] is None and row["success"] is True
    raw = json.loads(row["extra_json"])[m.RAW_KEY]
    assert raw == {"status": ["completed"], "evaluation.metrics.0.score": "high"}


def test_a_body_that_is_not_a_list_is_still_an_error() -> None:
    from cekura_analytics.errors import ResponseError

    with pytest.raises(ResponseError, match="expected a JSON array"):
        m.parse_items(m.Run, {"detail": "oops"}, what="GET /runs/bulk/", shapes=m.ShapeLog())
