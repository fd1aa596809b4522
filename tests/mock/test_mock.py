"""The mock Cekura API over real HTTP: contract, paging, filters, faults, data properties."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest
import requests
from conftest import MOCK_KEY

from cekura_analytics.mock import MockConfig, MockData, MockServer
from cekura_analytics.mock import catalog as C
from cekura_analytics.mock.data import MIGRATION, hash_ids, hash_one
from cekura_analytics.mock.render import run_full, run_list_item, run_list_item_json
from cekura_analytics.mock.wire import duration_seconds

KEY = MOCK_KEY  # the key the mock fixtures accept
V1 = "/test_framework/v1"
V2 = "/test_framework/v2"
SPEC = Path(__file__).resolve().parents[2].parent / "shared/cekura-api/openapi-subset.json"
NOW = datetime(2026, 8, 1, 12, tzinfo=UTC)
OPEN = {"running", "in_progress", "evaluating", "in_queue", "pending", "scaling_up"}


# ---------------------------------------------------------------- helpers
def url(srv: MockServer, path: str) -> str:
    """Absolute URL of an API path (relative to /test_framework/v1 unless it starts with /)."""
    return f"{srv.base_url}{path}" if path.startswith("/") else f"{srv.base_url}{V1}/{path}"


def get(srv: MockServer, path: str, key: str | None = KEY, **params: Any) -> requests.Response:
    """GET an API path with the key."""
    headers = {"X-CEKURA-API-KEY": key} if key is not None else {}
    return requests.get(url(srv, path), params=params, headers=headers, timeout=10)


def ok(srv: MockServer, path: str, **params: Any) -> Any:
    """GET and decode a 200 answer."""
    r = get(srv, path, **params)
    assert r.status_code == 200, r.text
    return r.json()


def all_pages(srv: MockServer, path: str, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    """Follow ``next`` links to the end; returns (count, items)."""
    body = ok(srv, path, page_size=500, **params)
    items = list(body["results"])
    while body["next"]:
        r = requests.get(body["next"], headers={"X-CEKURA-API-KEY": KEY}, timeout=10)
        body = r.json()
        items += body["results"]
    return body["count"], items


def control(srv: MockServer, action: str, **params: Any) -> Any:
    """POST a /_mock control action."""
    r = requests.post(f"{srv.base_url}/_mock/{action}", params=params, timeout=10)
    r.raise_for_status()
    return r.json()


@pytest.fixture(scope="module")
def ro() -> Any:
    """A module-wide mock for read-only tests (same shape as ``mock_server``; never mutated)."""
    with MockServer(runs=600, seed=0, api_key=KEY) as srv:
        yield srv


# ---------------------------------------------------------------- contract
METRIC_RESULT = "CallLogListSerializerMetricsWithExplanation"
# The contract says `object` but its own descriptions say the list endpoint sends arrays.
WIRE_ARRAYS = {("Result", "runs"), ("Result", "scenarios")}
# v1 metric lists send the legacy binary names (examples/metric_v1_list_openapi_example_*).
LEGACY_EVAL_TYPES = ["binary_workflow_adherence", "binary_qualitative"]


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def relax_property(owner: str, name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """Apply the README's "looser than the service" rules to one property schema."""
    prop = dict(prop)
    if (owner, name) == ("Run", "agent_version"):
        return {}  # declared as ExpectedOutcome; really a history-record id or null
    if "oneOf" in prop:  # oneOf [{}, null] means "anything or null": null matches both
        prop["anyOf"] = prop.pop("oneOf")
    if prop.pop("nullable", False):  # OpenAPI 3.0 leftover on pagination links
        prop = _or_null(prop)
    if prop.get("readOnly"):
        if prop.get("type") == "string" and "format" not in prop and "enum" not in prop:
            return {}  # computed field whose real type the generator could not see
        if (owner, name) in WIRE_ARRAYS:
            return {"anyOf": [prop, {"type": "array"}, {"type": "null"}]}
        return _or_null(prop)
    if owner == METRIC_RESULT and name in ("score", "enum", "value"):
        return _or_null(prop)
    if (owner, name) == (METRIC_RESULT, "explanation"):  # "" in the runs-bulk example
        return {"anyOf": [prop, {"type": "string"}]}
    if (owner, name) == ("MetricList", "eval_type"):
        return {**prop, "enum": prop["enum"] + LEGACY_EVAL_TYPES}
    return prop


@cache
def spec() -> dict[str, Any]:
    """The contract with every component schema relaxed."""
    if not SPEC.is_file():
        pytest.skip(f"contract not found at {SPEC}")
    doc = json.loads(SPEC.read_text())
    comps = copy.deepcopy(doc["components"])
    for owner, schema in comps["schemas"].items():
        props = schema.get("properties", {})
        for name in list(props):
            props[name] = relax_property(owner, name, props[name])
    return {"paths": doc["paths"], "components": comps}


def validator(path: str, method: str = "get") -> jsonschema.Draft202012Validator:
    """A validator for the 200 answer of ``path`` (``$ref``s resolve inside the document)."""
    doc = spec()
    schema = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return jsonschema.Draft202012Validator({"components": doc["components"], **schema["schema"]})


def assert_valid(path: str, body: Any) -> None:
    errors = list(validator(path).iter_errors(body))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]]


LAST = 600  # newest run id of the 600-run fixture
OLDEST = ",".join(map(str, range(1, 101)))  # before the July 2026 migration
NEWEST = ",".join(map(str, range(LAST - 99, LAST + 1)))  # after it
ENDPOINTS = [  # (contract path, request path, params); aliases checked against their original
    *[
        (f"{v}{c}", f"{v}{p}", params)
        for v in (V1, V2)
        for c, p, params in [
            ("/runs/", "/runs/", {"page_size": 100}),
            ("/runs/bulk/", "/runs/bulk/", {"run_ids": OLDEST}),
            ("/runs/bulk/", "/runs/bulk/", {"run_ids": NEWEST}),
            ("/results/", "/results/", {"page_size": 100}),
            ("/results/{id}/", "/results/50001/", {}),
            ("/results/{id}/", "/results/50030/", {}),
            ("/metrics/", "/metrics/", {}),
            ("/aiagents/", "/aiagents/", {}),
        ]
    ],
    (f"{V1}/runs/{{id}}/", f"{V1}/runs/3/", {}),
    (f"{V1}/runs/{{id}}/", f"{V2}/runs/{LAST}/", {}),  # v2 detail: not in the subset
    (f"{V1}/scenarios/", f"{V1}/scenarios/", {"page_size": 100}),
    (f"{V1}/scenarios/{{id}}/", f"{V1}/scenarios/1101/", {}),
    (f"{V1}/personalities/", f"{V1}/personalities/", {}),
    (f"{V1}/runs/", f"{V1}/runs-external", {"page_size": 7}),
    (f"{V1}/runs/bulk/", f"{V1}/runs-external/bulk", {"run_ids": NEWEST}),
    (f"{V1}/results/", f"{V1}/results-external", {}),
    (f"{V1}/scenarios/", f"{V1}/scenarios-external", {}),
]


@pytest.mark.parametrize(("contract", "path", "params"), ENDPOINTS)
def test_responses_follow_the_contract(
    ro: MockServer, contract: str, path: str, params: dict[str, Any]
) -> None:
    assert_valid(contract, ok(ro, path, **params))


def test_relaxed_contract_still_rejects_wrong_types(ro: MockServer) -> None:
    run = ok(ro, "runs/4/")
    for field, bad in (("success", "yes"), ("status", "done"), ("id", "x"), ("timestamp", 5)):
        broken = {**run, field: bad}
        assert list(validator(f"{V1}/runs/{{id}}/").iter_errors(broken)), field


def test_wire_truth_of_runs(ro: MockServer) -> None:
    runs = ok(ro, "runs/bulk/", run_ids=NEWEST)
    runs += ok(ro, "runs/bulk/", run_ids=",".join(map(str, range(101, 201))))
    line = re.compile(r"^\[(\d+:\d{2})\] (Testing Agent|Main Agent): .+$")
    kinds = set()
    for run in runs:
        assert re.fullmatch(r"\d+:\d{2}|\d+:\d{2}:\d{2}", run["duration"])
        assert run["agent_version"] is None or isinstance(run["agent_version"], int)
        if run["status"] == "failed":
            kinds.add("failed")
            assert run["success"] is False and run["error_message"]
            assert run["evaluation"] is None and run["rubric"] is None
            assert run["transcript"] == "" and run["duration"] == "00:00"
        elif run["status"] in OPEN:
            kinds.add("open")
            assert run["evaluation"] is None and run["success"] is False
        elif run["status"] == "completed":
            kinds.add("completed")
            stamps = [line.match(x) for x in run["transcript"].splitlines()]
            turns = run["transcript_object"]
            assert [m.group(1) if m else None for m in stamps] == [t["time"] for t in turns]
            for t in turns:
                assert t["start_time"] == t["timestamp"] < t["end_time"]
                assert duration_seconds(t["time"]) == int(t["start_time"])
            for m in run["evaluation"]["metrics"]:
                assert m["type"] in (
                    "numeric",
                    "continuous_qualitative",
                    "enum",
                    *LEGACY_EVAL_TYPES,
                )
                assert "passed" not in m and "eval_type" not in m  # v1: legacy items only
                if m["type"] in LEGACY_EVAL_TYPES:
                    assert m["score"] in (0, 5)
                elif m["type"] == "enum":
                    assert m["score"] is None and m["enum"] == m["value"]
                    assert m["value"] in ("positive", "neutral", "negative")
                else:
                    assert isinstance(m["score"], int | float) and m["enum"] is None
            for entry in run["rubric"] or []:
                cond = entry["conditions"]
                pattern = r"score (gte|lte) \d+|value in [a-z,]+|score eq true"
                assert cond is None or re.fullmatch(pattern, cond)
                assert (cond is None) == (entry["expected_conditions"] is None)
    assert kinds == {"failed", "open", "completed"}
    listed = ok(ro, "runs/", page_size=5)["results"][0]
    assert isinstance(listed["metrics"], list) and isinstance(listed["critical_categories"], list)


def test_rubric_passed_is_partial_and_matches_conditions(ro: MockServer) -> None:
    ids = ",".join(map(str, range(301, 401)))
    with_passed = without = 0
    for run in ok(ro, "runs/bulk/", run_ids=ids):
        scores = {m["id"]: m for m in (run["evaluation"] or {}).get("metrics", [])}
        for entry in run["rubric"] or []:
            if "passed" not in entry:
                without += 1
                continue
            with_passed += 1
            m = scores[entry["metric_id"]]
            cond = entry["expected_conditions"]["conditions"][0]
            if cond["op"] == "in":
                assert entry["passed"] == (m["value"] in cond["value"])
            elif cond["op"] == "eq":  # a boolean rule over the legacy 0/5 score
                assert cond["value"] is True and entry["passed"] == (m["score"] == 5)
            elif cond["op"] == "gte":
                assert entry["passed"] == (m["score"] >= cond["value"])
            else:
                assert entry["passed"] == (m["score"] <= cond["value"])
    assert with_passed > 50 and without > 50


# ---------------------------------------------------------------- auth, paging
@pytest.mark.parametrize("key", [None, "wrong-key"])
@pytest.mark.parametrize("path", ["runs/", "runs/bulk/?run_ids=1", "metrics/", "runs/1/"])
def test_bad_key_is_401(ro: MockServer, key: str | None, path: str) -> None:
    r = get(ro, path, key=key)
    assert r.status_code == 401 and isinstance(r.json()["detail"], str)


def test_paging_to_the_end_gives_every_run_newest_first(ro: MockServer) -> None:
    body = ok(ro, "runs/", page_size=70, agent_id=101)
    ids: list[int] = []
    stamps: list[str] = []
    while True:
        ids += [r["id"] for r in body["results"]]
        stamps += [r["timestamp"] for r in body["results"]]
        if not body["next"]:
            break
        assert body["next"].startswith(ro.base_url) and "agent_id=101" in body["next"]
        body = requests.get(body["next"], headers={"X-CEKURA-API-KEY": KEY}, timeout=10).json()
        assert body["previous"].startswith("http://") and "agent_id=101" in body["previous"]
    assert len(ids) == len(set(ids)) == body["count"]
    assert ids == sorted(ids, reverse=True)
    parsed = [datetime.fromisoformat(s) for s in stamps]
    assert parsed == sorted(parsed, reverse=True)


def test_page_bounds(ro: MockServer) -> None:
    assert len(ok(ro, "runs/", page_size=10_000)["results"]) == 100  # capped
    assert len(ok(ro, "runs/")["results"]) == 30  # default
    for page in (0, 99, "abc"):
        r = get(ro, "runs/", page=page)
        assert r.status_code == 404 and r.json() == {"detail": "Invalid page."}
    second = ok(ro, "runs/", page=2, page_size=10)
    assert "page=" not in second["previous"]  # DRF drops page=1


# ---------------------------------------------------------------- filters
@pytest.fixture(scope="module")
def listed(ro: MockServer) -> list[dict[str, Any]]:
    count, items = all_pages(ro, "runs/")
    assert count == len(items) == 600
    return items


def _ts(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["timestamp"])


FILTERS: list[tuple[dict[str, Any], Any]] = [
    ({"agent_id": 102}, lambda r: r["agent"] == 102),
    ({"result__agent_id": 103}, lambda r: r["agent"] == 103),
    ({"project_id": 7}, lambda r: True),
    ({"project_id": 8}, lambda r: False),
    ({"result_id": 50003}, lambda r: r["result_id"] == 50003),
    ({"status": "failed"}, lambda r: r["status"] == "failed"),
    ({"status__in": "failed,timeout"}, lambda r: r["status"] in ("failed", "timeout")),
    ({"success": "true"}, lambda r: r["success"]),
    ({"success": "false"}, lambda r: not r["success"]),
    ({"id__in": "7,500,999"}, lambda r: r["id"] in (7, 500)),
    ({"scenario__id__in": "1001,1060,1149"}, lambda r: r["scenario"] in (1001, 1060, 1149)),
    ({"personality__id__in": "202,204"}, lambda r: r["personality"] in (202, 204)),
    ({"agent_id": 101, "success": "false"}, lambda r: r["agent"] == 101 and not r["success"]),
]


@pytest.mark.parametrize(("params", "keep"), FILTERS)
def test_filters(
    ro: MockServer, listed: list[dict[str, Any]], params: dict[str, Any], keep: Any
) -> None:
    count, items = all_pages(ro, "runs/", **params)
    expected = [r["id"] for r in listed if keep(r)]
    assert count == len(expected) and [r["id"] for r in items] == expected


@pytest.mark.parametrize("tz", [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
def test_timestamp_filters_accept_z_and_offsets(
    ro: MockServer, listed: list[dict[str, Any]], tz: timezone
) -> None:
    lo, hi = _ts(listed[400]), _ts(listed[100])
    text = {"timestamp__gte": lo.astimezone(tz).isoformat(), "timestamp__lte": hi.isoformat()}
    if tz is UTC:
        text["timestamp__gte"] = text["timestamp__gte"].replace("+00:00", "Z")
    _, items = all_pages(ro, "runs/", **text)
    assert [r["id"] for r in items] == [r["id"] for r in listed[100:401]]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"timestamp__gte": "yesterday"}, "timestamp__gte"), ({"status": "done"}, "status"),
     ({"id__in": "1,x"}, "id__in")],
)  # fmt: skip
def test_bad_filters_are_400(ro: MockServer, params: dict[str, Any], field: str) -> None:
    r = get(ro, "runs/", **params)
    assert r.status_code == 400 and isinstance(r.json()[field], list)


def test_scenario_filters(ro: MockServer) -> None:
    count, items = all_pages(ro, "scenarios/", agent_id=102)
    assert count == 50 and all(s["agent"] == 102 for s in items)
    _, tagged = all_pages(ro, "scenarios/", tags="smoke")
    assert tagged and all("smoke" in s["tags"] for s in tagged)
    langs = {s["scenario_language"] for s in all_pages(ro, "scenarios/")[1]}
    assert len(langs) >= 6
    assert ok(ro, "scenarios/", project_id=8)["count"] == 0
    r = get(ro, "scenarios/99/")
    assert r.status_code == 404 and "detail" in r.json()


def test_results_are_consistent_with_runs(ro: MockServer) -> None:
    _, results = all_pages(ro, "results/")
    assert sum(r["total_runs_count"] for r in results) == 600
    assert [r["id"] for r in results] == sorted((r["id"] for r in results), reverse=True)
    detail = ok(ro, f"results/{results[-1]['id']}/")
    assert len(detail["runs"]) == detail["total_runs_count"] == len(results[-1]["runs"])
    runs = ok(ro, "runs/", result_id=detail["id"])["results"]
    assert {str(r["id"]) for r in runs} == set(detail["runs"])
    assert {str(r["agent_version"]) for r in runs} == {detail["agent_version"]}  # v1: a string
    assert detail["success_runs_count"] == sum(r["success"] for r in runs)
    assert detail["success_rate"] == round(100 * detail["success_runs_count"] / len(runs), 2)
    agent_101 = all_pages(ro, "results/", agent_id=101)[1]
    assert agent_101 and all(r["agent"] == 101 for r in agent_101)


def test_catalogue_endpoints(ro: MockServer) -> None:
    kinds = {"numeric", "continuous_qualitative", "enum"}
    assert {m["eval_type"] for m in ok(ro, f"{V2}/metrics/")} == {"binary", *kinds}
    metrics = ok(ro, "metrics/")
    assert {m["eval_type"] for m in metrics} == {*LEGACY_EVAL_TYPES, *kinds}
    assert all(m["enum_values"] for m in metrics if m["eval_type"] == "enum")
    people = ok(ro, "personalities/")
    assert len(people) == 12 and all(p["gender"] in ("male", "female") for p in people)
    assert {p["language"] for p in ok(ro, "personalities/", language="hi")} == {"hi"}
    agents = ok(ro, "aiagents/")["results"]
    assert len(agents) == 3
    for agent in agents:  # write-only secrets never leave the server
        assert not [k for k in agent if k.endswith(("_api_key", "_secret", "_token"))]
        assert "organization" not in agent and "predefined_metrics" not in agent


# ---------------------------------------------------------------- bulk & detail
def test_bulk_order_unknown_ids_and_limits(ro: MockServer) -> None:
    got = ok(ro, "runs/bulk/", run_ids="10,3,999999,7")
    assert [r["id"] for r in got] == [10, 3, 7]
    assert got[1] == ok(ro, "runs/3/")
    r = get(ro, "runs/bulk/", run_ids=",".join(map(str, range(1, 102))))
    assert r.status_code == 400
    assert r.json() == {"run_ids": ["Ensure this field has no more than 100 elements."]}
    r = get(ro, "runs/bulk/")
    assert r.status_code == 400 and r.json() == {"run_ids": ["This field is required."]}
    for bad in ("999999", "abc"):
        r = get(ro, f"runs/{bad}/")
        assert r.status_code == 404 and r.json() == {"detail": "No Run matches the given query."}


def test_bulk_of_100_is_fast(ro: MockServer) -> None:
    ids = ",".join(map(str, range(201, 301)))
    get(ro, "runs/bulk/", run_ids=ids)  # warm-up
    t = time.perf_counter()
    assert len(ok(ro, "runs/bulk/", run_ids=ids)) == 100
    assert time.perf_counter() - t < 0.5  # generous: shared CI machines are slow


# ---------------------------------------------------------------- data properties
def full(data: MockData, run_id: int) -> dict[str, Any]:
    """One full run generated straight from the data (no server)."""
    row = data.row(run_id)
    assert row is not None
    return run_full(data, row)


def test_determinism() -> None:
    a, b, c = MockData(3, 2000, NOW), MockData(3, 2000, NOW), MockData(4, 2000, NOW)
    assert a.runs.equals(b.runs) and not a.runs.equals(c.runs)
    for run_id in (1, 777, 1999):
        assert full(a, run_id) == full(b, run_id)
    assert full(a, 777) != full(c, 777)
    ids = pl.Series([0, 1, 12345, 2**31 + 7])
    assert hash_ids(99, ids).to_list() == [hash_one(99, i) for i in ids]  # scalar twin agrees


def test_timestamps_span_180_days_and_increase() -> None:
    data = MockData(0, 5000, NOW)
    ts = data.runs["ts"]
    assert (ts.diff().drop_nulls() > 0).all()
    assert ts[-1] == data.now_us and data.now_us - ts[0] > 170 * 86_400_000_000
    assert (ts[0] - data.t0_us) >= 0


def test_list_item_is_a_projection_of_the_full_run() -> None:
    data = MockData(0, 600, NOW)
    for row in data.rows([2, 50, 599]):
        full, item = run_full(data, row), run_list_item(data, row)
        assert json.loads(run_list_item_json(data, row)) == item
        for key in ("provider_call_id", "duration", "status", "success", "critical_categories",
                    "expected_outcome", "timestamp", "agent_version"):  # fmt: skip
            assert item[key] == full[key], key


def test_runs_add_arrive_with_later_timestamps(mock_server: MockServer) -> None:
    before = ok(mock_server, "runs/", page_size=1)
    added = control(mock_server, "runs/add", n=5)["added"]
    after = ok(mock_server, "runs/", page_size=10)
    assert after["count"] == before["count"] + 5
    assert [r["id"] for r in after["results"][:5]] == sorted(added, reverse=True)
    newest_before = _ts(before["results"][0])
    stamps = [_ts(r) for r in reversed(after["results"][:5])]
    assert stamps[0] > newest_before and stamps == sorted(set(stamps))
    running = control(mock_server, "runs/add", n=2, status="running")["added"]
    fetched = ok(mock_server, "runs/bulk/", run_ids=",".join(map(str, running)))
    assert [r["status"] for r in fetched] == ["running", "running"]


def test_complete_finishes_open_runs(mock_server: MockServer) -> None:
    open_before = ok(mock_server, "runs/", status__in=",".join(sorted(OPEN)))
    assert open_before["count"] > 0
    ids = [r["id"] for r in open_before["results"]]
    assert control(mock_server, "runs/complete")["completed"] == open_before["count"]
    assert ok(mock_server, "runs/", status__in=",".join(sorted(OPEN)))["count"] == 0
    for run in ok(mock_server, "runs/bulk/", run_ids=",".join(map(str, ids))):
        assert run["status"] in ("completed", "failed", "timeout", "cancelled")
        assert (run["evaluation"] is not None) == (run["status"] in ("completed", "timeout"))


def _pass_rate(runs: pl.DataFrame, metric_id: int) -> float:
    """Share of evaluated runs that passed ``metric_id`` (among runs that have it)."""
    mi = C.METRIC_BY_ID[metric_id]
    has = pl.Series([mi in s.metric_idx for s in C.SCENARIOS]).gather(runs["scen"].cast(pl.Int64))
    sub = runs.filter(has & runs["status"].is_in([0, 2]))
    return float(((sub["bits"] // (1 << mi)) % 2).cast(pl.Float64).sum()) / sub.height


def test_planted_signal_is_visible() -> None:
    data = MockData(0, 30_000, NOW)
    runs = data.runs
    lang = pl.Series([s.language for s in C.SCENARIOS]).gather(runs["scen"].cast(pl.Int64))
    hindi = _pass_rate(runs.filter(lang == "hi"), 304)
    others = _pass_rate(runs.filter(lang != "hi"), 304)
    assert hindi < 0.65 < 0.85 < others
    angry = runs["pers"].is_in([C.PERSONALITY_BY_ID[202], C.PERSONALITY_BY_ID[204]])
    assert _pass_rate(runs.filter(angry), 306) < 0.65 < 0.85 < _pass_rate(runs.filter(~angry), 306)
    ver = {vid: gi for gi, (_, vid) in enumerate(C.VERSIONS)}
    regressed = _pass_rate(runs.filter(runs["ver"] == ver[4519]), 301)
    fixed = _pass_rate(runs.filter(runs["ver"] == ver[4588]), 301)
    earlier = _pass_rate(runs.filter(runs["ver"] == ver[4467]), 301)
    assert regressed < 0.65 < 0.9 < min(fixed, earlier)


def test_planted_signal_survives_rendering() -> None:
    """Rendered scores (what the extractor sees) carry the language × metric signal."""
    data = MockData(0, 4000, NOW)
    by_lang: dict[bool, list[bool]] = {True: [], False: []}
    for row in data.rows(list(range(1, 4001))):
        sc = C.SCENARIOS[row["scen"]]
        if row["status"] != 0 or C.METRIC_BY_ID[304] not in sc.metric_idx:
            continue
        run = run_full(data, row)
        score = next(m["score"] for m in run["evaluation"]["metrics"] if m["id"] == 304)
        by_lang[sc.language == "hi"].append(score >= 70)
    hindi = sum(by_lang[True]) / len(by_lang[True])
    rest = sum(by_lang[False]) / len(by_lang[False])
    assert len(by_lang[True]) > 300 and hindi < rest - 0.25


def test_one_million_runs_take_modest_memory() -> None:
    code = (
        "import resource, sys; import polars\n"
        "from cekura_analytics.mock import MockData\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "d = MockData(0, 1_000_000)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print((peak - base) // 1024, int(d.runs.estimated_size('mb')), d.runs.height)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    peak_mb, kept_mb, n = map(int, out.stdout.split())
    assert n == 1_000_000 and kept_mb < 60 and peak_mb < 300


# ---------------------------------------------------------------- faults & stats
def test_rate_limit_answers_429_with_retry_after(make_mock_server: Any) -> None:
    srv = make_mock_server(rate_limit_rps=2)
    answers = [get(srv, "metrics/") for _ in range(8)]
    limited = [r for r in answers if r.status_code == 429]
    assert limited and answers[0].status_code == 200
    assert limited[0].headers["Retry-After"] == "1"
    assert limited[0].json() == {"detail": "Request was throttled. Expected available in 1 second."}
    assert requests.get(f"{srv.base_url}/_mock/stats", timeout=5).status_code == 200


def test_fail_rate_is_roughly_right(make_mock_server: Any) -> None:
    srv = make_mock_server(fail_rate=0.3, runs=50)
    answers = [get(srv, "personalities/") for _ in range(200)]
    failed = [r for r in answers if r.status_code == 500]
    assert {r.status_code for r in answers} == {200, 500} and 0.18 < len(failed) / 200 < 0.42
    assert failed[0].headers["content-type"] == "application/json" and failed[0].json()["detail"]


def test_truncated_bodies_are_invalid_json(make_mock_server: Any) -> None:
    srv = make_mock_server(truncate_rate=1.0)
    r = get(srv, "runs/", page_size=5)
    assert r.status_code == 200 and int(r.headers["content-length"]) == len(r.content)
    with pytest.raises(ValueError):
        json.loads(r.content)


def test_extra_fields_reach_every_object(make_mock_server: Any) -> None:
    srv = make_mock_server(extra_fields=True)
    body = ok(srv, "runs/bulk/", run_ids="10,11")

    def objects(x: Any) -> list[dict[str, Any]]:
        if isinstance(x, dict):
            return [x, *(o for v in x.values() for o in objects(v))]
        return [o for v in x for o in objects(v)] if isinstance(x, list) else []

    assert all("x_mock_drift" in o for o in objects(body) if "added_in" not in o)
    assert_valid(f"{V1}/runs/bulk/", body)  # unknown fields are allowed by the contract


def test_latency_overlaps_across_concurrent_requests(make_mock_server: Any) -> None:
    srv = make_mock_server(latency_ms=300, runs=50)
    t = time.perf_counter()
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: get(srv, "metrics/").status_code, range(6)))
    elapsed = time.perf_counter() - t
    assert codes == [200] * 6 and 0.3 <= elapsed < 1.2


def test_fault_paths_and_runtime_changes(mock_server: MockServer) -> None:
    mock_server.config.fail_rate = 1.0  # takes effect on the next request
    assert get(mock_server, "metrics/").status_code == 500
    assert requests.get(f"{mock_server.base_url}/_mock/stats", timeout=5).status_code == 200
    r = requests.post(f"{mock_server.base_url}/_mock/faults",
                      json={"fault_paths": [f"{V1}/runs/bulk/"]}, timeout=5)  # fmt: skip
    assert r.status_code == 200 and r.json()["fault_paths"] == [f"{V1}/runs/bulk/"]
    assert get(mock_server, "metrics/").status_code == 200
    assert get(mock_server, "runs/bulk/", run_ids="1").status_code == 500
    r = requests.post(f"{mock_server.base_url}/_mock/faults", json={"fail_rate": 0}, timeout=5)
    assert r.json()["fail_rate"] == 0 and get(mock_server, "runs/bulk/", run_ids="1").ok
    for bad in ({"fail_rate": 2}, {"nope": 1}, {"extra_fields": "yes"}):
        r = requests.post(f"{mock_server.base_url}/_mock/faults", json=bad, timeout=5)
        assert r.status_code == 400, bad
    assert requests.get(f"{mock_server.base_url}/_mock/faults", timeout=5).json() == (
        mock_server.config.faults()
    )


def test_arrivals_per_list_shift_pages(make_mock_server: Any) -> None:
    srv = make_mock_server(arrivals_per_list=3)
    first = ok(srv, "runs/", page_size=10)["count"]
    assert ok(srv, "runs/", page_size=10)["count"] == first + 3


def test_stats_count_by_normalised_path(mock_server: MockServer) -> None:
    get(mock_server, "runs/")
    get(mock_server, "runs/1/")
    get(mock_server, "runs/2/", key=None)
    get(mock_server, "runs/bulk/", run_ids="1")
    stats = requests.get(f"{mock_server.base_url}/_mock/stats", timeout=5).json()
    assert stats == mock_server.stats()
    assert stats["paths"] == {f"{V1}/runs/": 1, f"{V1}/runs/{{id}}/": 2, f"{V1}/runs/bulk/": 1}
    assert stats["total"] == 4
    control(mock_server, "stats/reset")
    assert mock_server.stats() == {"total": 0, "paths": {}}


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(TypeError):
        MockServer(runs=10, not_a_fault=1)
    cfg = MockConfig()
    with pytest.raises(ValueError, match="truncate_rate"):
        cfg.update({"truncate_rate": -1})


def test_cli_serves_in_the_foreground(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cekura_analytics", "mock-server", "--port", "0", "--runs", "200",
         "--api-key", "cli-key"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        r = requests.get(f"{url.group(0)}{V1}/runs/", headers={"X-CEKURA-API-KEY": "cli-key"},
                         params={"page_size": 1}, timeout=10)  # fmt: skip
        assert r.status_code == 200 and r.json()["count"] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- phase 2: improve jobs
PROMPT = "You are Ava, the receptionist of Brightsmile Dental.\n"


def post(srv: MockServer, path: str, body: Any, key: str | None = KEY) -> requests.Response:
    """POST JSON to an API path."""
    headers = {"X-CEKURA-API-KEY": key} if key is not None else {}
    return requests.post(f"{srv.base_url}{V1}/{path}", json=body, headers=headers, timeout=10)


def poll(srv: MockServer, kind: str, progress_id: str) -> dict[str, Any]:
    path = (
        "runs/improve_prompt_progress/" if kind == "prompt" else "scenarios/instructions-progress/"
    )
    r = get(srv, path, progress_id=progress_id)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"status", "output", "error"}
    return body


def launch_prompt(srv: MockServer, run_ids: list[int], prompt: str = PROMPT) -> str:
    r = post(srv, "runs/improve_prompt_bg/", {"prompt": prompt, "run_ids": run_ids})
    assert r.status_code == 200, r.text
    progress_id: str = r.json()["progress_id"]
    return progress_id


def failed_metric_names(run: dict[str, Any]) -> list[str]:
    """Metric names a full run failed, judged from scores and the catalogue's rules."""
    out = []
    for m in run["evaluation"]["metrics"]:
        rule = C.METRICS[C.METRIC_BY_ID[m["id"]]]
        if m["type"] == "enum":
            passed = m["value"] in rule.pass_values
        elif m["type"] in LEGACY_EVAL_TYPES:
            passed = m["score"] >= 1
        else:
            passed = (
                (m["score"] >= rule.threshold)
                if rule.op == "gte"
                else (m["score"] <= rule.threshold)
            )
        if not passed:
            out.append((rule.id, m["name"]))
    return [name for _, name in sorted(out)]


def test_improve_prompt_job_lifecycle_and_output(make_mock_server: Any) -> None:
    srv = make_mock_server(job_polls_to_finish=3, job_hash_failures=False)
    runs = ok(srv, "runs/", success="false", status="completed", page_size=5)["results"]
    run = ok(srv, f"runs/{runs[0]['id']}/")
    pid = launch_prompt(srv, [run["id"]])
    assert re.fullmatch(r"[0-9a-f-]{36}", pid)
    assert [poll(srv, "prompt", pid)["status"] for _ in range(2)] == ["queued", "processing"]
    done = poll(srv, "prompt", pid)
    assert done["status"] == "completed" and done["error"] is None
    names = failed_metric_names(run)
    assert names
    improved = done["output"]["improved_prompt"]
    assert improved.startswith(PROMPT.rstrip()) and improved.count("\n- ") == len(names)
    assert all(n in done["output"]["summary_of_changes"] for n in names)
    assert poll(srv, "prompt", pid) == done  # terminal answers do not change
    assert srv.stats()["paths"][f"{V1}/runs/improve_prompt_progress/"] == 4


def test_improve_instructions_job(make_mock_server: Any) -> None:
    srv = make_mock_server(job_polls_to_finish=1, job_hash_failures=False)
    body = {"agent": 101, "extra_instructions": "Interrupt twice.", "current_instructions": "Be"}
    r = post(srv, "scenarios/improve_instructions/", body)
    assert r.status_code == 200
    spec_path = f"{V1}/scenarios/improve_instructions/"
    assert not list(validator(spec_path, "post").iter_errors(r.json()))
    assert r.json()["project_id"] == 7
    done = poll(srv, "instructions", r.json()["progress_id"])
    assert done["status"] == "completed"
    assert done["output"]["instructions"] == "Be\n\nAdditionally: Interrupt twice."
    # a prompt progress id is not an instructions progress id
    r = get(srv, "runs/improve_prompt_progress/", progress_id=r.json()["progress_id"])
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "errors"),
    [
        ("runs/improve_prompt_bg/", {"run_ids": [1]}, {"prompt": ["This field is required."]}),
        ("runs/improve_prompt_bg/", {}, {"prompt": ["This field is required."],
                                         "run_ids": ["This field is required."]}),
        ("runs/improve_prompt_bg/", {"prompt": "p", "run_ids": [987654]},
         {"run_ids": ['Invalid pk "987654" - object does not exist.']}),
        ("runs/improve_prompt_bg/", {"prompt": "p", "run_ids": []},
         {"run_ids": ["This list may not be empty."]}),
        ("runs/improve_prompt_bg/", {"prompt": " ", "run_ids": [1]},
         {"prompt": ["This field may not be blank."]}),
        ("scenarios/improve_instructions/", {"extra_instructions": "x"},
         {"agent": ["This field is required."]}),
        ("scenarios/improve_instructions/", {"agent": 101},
         {"extra_instructions": ["This field is required."]}),
        ("scenarios/improve_instructions/", {"agent": 5, "extra_instructions": "x"},
         {"agent": ['Invalid pk "5" - object does not exist.']}),
    ],
)  # fmt: skip
def test_job_launch_validation(
    ro: MockServer, path: str, body: dict[str, Any], errors: dict[str, Any]
) -> None:
    r = post(ro, path, body)
    assert r.status_code == 400 and r.json() == errors


def test_progress_errors_and_auth(ro: MockServer) -> None:
    r = get(ro, "runs/improve_prompt_progress/", progress_id="nope")
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}
    r = get(ro, "scenarios/instructions-progress/")
    assert r.status_code == 400 and "progress_id" in r.json()
    unauthenticated = post(ro, "runs/improve_prompt_bg/", {"prompt": "p", "run_ids": [1]}, key=None)
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize(
    ("knob", "status", "has_output", "has_error"),
    [("job_fail_rate", "failed", False, True), ("job_stuck_rate", "in_progress", False, False),
     ("job_empty_rate", "completed", False, False)],
)  # fmt: skip
def test_job_fates(
    make_mock_server: Any, knob: str, status: str, has_output: bool, has_error: bool
) -> None:
    srv = make_mock_server(job_polls_to_finish=2, job_hash_failures=False, **{knob: 1.0})
    pid = launch_prompt(srv, [5])
    answers = [poll(srv, "prompt", pid) for _ in range(6)]
    assert answers[-1]["status"] == status
    assert (answers[-1]["output"] is not None) == has_output
    assert (answers[-1]["error"] is not None) == has_error


def test_deterministic_share_of_jobs_fails(make_mock_server: Any) -> None:
    srv = make_mock_server(job_polls_to_finish=1)
    prompts = [f"{PROMPT}Variant {i}." for i in range(40)]
    fates = [poll(srv, "prompt", launch_prompt(srv, [7], p))["status"] for p in prompts]
    failed = [p for p, s in zip(prompts, fates, strict=True) if s == "failed"]
    assert 1 <= len(failed) <= 10 and fates.count("completed") == 40 - len(failed)
    again = poll(srv, "prompt", launch_prompt(srv, [7], failed[0]))
    assert again["status"] == "failed" and again["error"]  # same inputs, same fate
    srv.config.job_hash_failures = False
    assert poll(srv, "prompt", launch_prompt(srv, [7], failed[0]))["status"] == "completed"


def test_job_seconds_to_finish(make_mock_server: Any) -> None:
    srv = make_mock_server(job_seconds_to_finish=0.3, job_hash_failures=False)
    pid = launch_prompt(srv, [9])
    assert poll(srv, "prompt", pid)["status"] == "queued"
    assert poll(srv, "prompt", pid)["status"] == "processing"
    assert poll(srv, "prompt", pid)["status"] == "in_progress"
    time.sleep(0.35)
    assert poll(srv, "prompt", pid)["status"] == "completed"


# ---------------------------------------------------------------- v2 reads and wire variants
def binary_verdict(item: dict[str, Any]) -> bool | None:
    """A binary item's verdict as the README says to read it: ``passed``, else the score."""
    if "passed" in item:
        return bool(item["passed"])
    return item["score"] >= 1 if item["type"] in LEGACY_EVAL_TYPES else None


def verdicts(runs: list[dict[str, Any]]) -> dict[tuple[int, int], bool | None]:
    """(run id, metric id) -> the binary verdict of every binary item."""
    return {
        (run["id"], m["id"]): binary_verdict(m)
        for run in runs
        for m in (run["evaluation"] or {"metrics": []})["metrics"]
        if m["type"] in LEGACY_EVAL_TYPES
    }


@pytest.mark.parametrize("now", [None, NOW, datetime(2027, 9, 1, tzinfo=UTC)])
def test_mock_history_spans_the_migration(now: datetime | None) -> None:
    data = MockData(0, 600, now)  # None: the wall clock
    cut = int((MIGRATION - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)
    before = int((data.runs["ts"] < cut).sum())
    assert 0 < before < data.runs.height


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_binary_items_follow_the_era_and_version(ro: MockServer, api: str) -> None:
    forms: dict[bool, set[tuple[str, ...]]] = {True: set(), False: set()}
    for ids in (OLDEST, NEWEST):
        for run in ok(ro, f"/test_framework/{api}/runs/bulk/", run_ids=ids):
            after = datetime.fromisoformat(run["timestamp"]) >= MIGRATION
            for m in (run["evaluation"] or {"metrics": []})["metrics"]:
                if m["type"] not in LEGACY_EVAL_TYPES:
                    assert "passed" not in m and m["type"] != "binary"
                    continue
                assert m["score"] in (0, 5)  # the legacy pair is always sent
                if "passed" in m:
                    assert m["eval_type"] == "binary" and m["passed"] is (m["score"] == 5)
                forms[after].add(tuple(sorted(k for k in ("eval_type", "passed") if k in m)))
            for entry in run["rubric"] or []:  # binary rules: boolean since the migration
                if C.METRICS[C.METRIC_BY_ID[entry["metric_id"]]].eval_type == "binary":
                    assert entry["conditions"] == ("score eq true" if after else None)
    assert forms[False] == {()}  # before the migration: legacy on both paths
    assert forms[True] == ({("eval_type", "passed")} if api == "v2" else {()})


def test_v1_and_v2_give_the_same_verdicts(ro: MockServer) -> None:
    for ids in (OLDEST, NEWEST, ",".join(map(str, range(201, 301)))):
        one, two = ok(ro, "runs/bulk/", run_ids=ids), ok(ro, f"{V2}/runs/bulk/", run_ids=ids)
        assert [r["id"] for r in one] == [r["id"] for r in two]
        v1, v2 = verdicts(one), verdicts(two)
        assert v1 == v2 and None not in v1.values() and False in v1.values()
        ruled = {(r["id"], e["metric_id"]): e["passed"] for r in one for e in r["rubric"] or []
                 if "passed" in e and (r["id"], e["metric_id"]) in v1}  # fmt: skip
        assert all(v1[k] == passed for k, passed in ruled.items())
        for a, b in zip(one, two, strict=True):  # everything but the binary form agrees
            assert a["success"] == b["success"] and a["rubric"] == b["rubric"]
            assert a["transcript"] == b["transcript"] and a["duration"] == b["duration"]
    v2_list = all_pages(ro, f"{V2}/runs/")[1]
    assert [r["success"] for r in v2_list] == [r["success"] for r in all_pages(ro, "runs/")[1]]


def test_agent_version_forms_keep_one_version(ro: MockServer) -> None:
    v1_runs = {r["id"]: r for r in all_pages(ro, "runs/")[1]}
    v2_runs = {r["id"]: r for r in all_pages(ro, f"{V2}/runs/")[1]}
    nulls = 0
    for rid, one in v1_runs.items():
        two = v2_runs[rid]["agent_version"]
        if one["agent_version"] is None:
            nulls += 1
            assert two is None
            continue
        assert isinstance(one["agent_version"], int)
        assert set(two) == {"history_id", "version_id", "version_name"}
        assert two["history_id"] == one["agent_version"]
        assert two["version_name"] == f"v{two['version_id']}"
    assert 0 < nulls < len(v1_runs) // 10
    v1_res = {r["id"]: r for r in all_pages(ro, "results/")[1]}
    for res in all_pages(ro, f"{V2}/results/")[1]:
        legacy = v1_res[res["id"]]["agent_version"]
        assert (res["agent_version"] or {}).get("history_id") == (legacy and int(legacy))


def test_results_shapes_per_version(ro: MockServer) -> None:
    one, two = all_pages(ro, "results/")[1], all_pages(ro, f"{V2}/results/")[1]
    keys = ("total_runs_count", "success_runs_count", "failed_runs_count")
    for a, b in zip(one, two, strict=True):
        assert isinstance(a["runs"], list) and isinstance(b["runs"], list)
        assert all(isinstance(a[k], int) and b[k] == str(a[k]) for k in keys)
        assert a["success_rate"] == b["success_rate"]
        assert a["success_rate"] == round(100 * a["success_runs_count"] / len(a["runs"]), 2)
    assert max(r["success_rate"] for r in one) > 1  # a percentage, not a fraction
    detail = ok(ro, f"{V2}/results/{two[0]['id']}/")
    assert isinstance(detail["runs"], dict) and set(detail["runs"]) == {
        str(r["id"]) for r in two[0]["runs"]
    }
    assert detail["total_runs_count"] == str(len(detail["runs"]))
    total = sum(duration_seconds(r["duration"]) for r in detail["runs"].values())
    assert duration_seconds(detail["total_duration"]) == total


def test_documented_shapes_all_occur() -> None:
    data = MockData(0, 4000, NOW)
    runs = [run_full(data, row) for row in data.rows(list(range(1, 4001)))]
    durations = {re.sub(r"\d", "9", r["duration"]).replace("99:", "M:") for r in runs}
    assert {"M:99", "9:99", "9:M:99"} <= durations  # MM:SS, M:SS and H:MM:SS
    stamps = {len(t["time"].split(":")[0]) for r in runs for t in r["transcript_object"][:1]}
    assert stamps == {1, 2}  # "0:05" and "00:05"
    explanations = {
        (m["type"], type(m["explanation"]).__name__)
        for r in runs
        for m in (r["evaluation"] or {"metrics": []})["metrics"]
    }
    assert ("numeric", "str") in explanations and ("numeric", "list") in explanations
    assert {k for k, kind in explanations if kind == "str"} == {"numeric"}


def test_v2_agents_have_the_v2_shape(ro: MockServer) -> None:
    v1 = {a["id"]: a for a in ok(ro, "aiagents/")["results"]}
    agents = ok(ro, f"{V2}/aiagents/")["results"]
    assert len(agents) == len(v1) == 3
    for a in agents:
        old = v1[a["id"]]
        assert "agent_name" not in a and a["name"] == old["agent_name"]
        assert a["agent_speaks_first"] == old["agent_gives_first_message"]
        assert a["telephony"]["phone_number"] == old["contact_number"]
        assert a["telephony"]["inbound"] == old["inbound"]
        assert a["provider"]["type"] == old["assistant_provider"]
        assert a["description"] == old["llm_system_prompt"]
        assert not [k for k in json.dumps(a).split('"') if k.endswith(("_api_key", "_secret"))]
        assert ok(ro, f"{V2}/aiagents/{a['id']}") == a
    assert ok(ro, f"{V2}/aiagents/", q="solar")["count"] == 1


@pytest.mark.parametrize(
    "path",
    ["runs-external", "runs-external/5", "runs-external/bulk?run_ids=5", "runs/bulk?ids=5,6",
     "results-external", "results/50001", "scenarios-external", "scenarios-external/1001",
     "metrics", "metrics/301", "personalities", "personalities/201", "aiagents/101",
     f"{V2}/aiagents", f"{V2}/runs", f"{V2}/runs/5", f"{V2}/metrics/301", f"{V2}/results"],
)  # fmt: skip
def test_sdk_paths_answer_with_and_without_slash(ro: MockServer, path: str) -> None:
    base, _, query = path.partition("?")
    answers = [
        requests.get(url(ro, p) + (f"?{query}" if query else ""), headers={"X-CEKURA-API-KEY": KEY},
                     allow_redirects=False, timeout=10)
        for p in (base, base + "/")
    ]  # fmt: skip
    assert [r.status_code for r in answers] == [200, 200]  # answered, not redirected
    bodies = [r.json() for r in answers]  # same answer (paging links echo the path asked)
    assert [b["results"] if "next" in b else b for b in bodies] == [
        b["results"] if "next" in b else b for b in bodies[::-1]
    ]


def test_details_of_metrics_and_personalities(ro: MockServer) -> None:
    listed = {m["id"]: m for m in ok(ro, "metrics/")}
    assert ok(ro, "metrics/303/") == listed[303] and listed[303]["eval_type"] in LEGACY_EVAL_TYPES
    assert ok(ro, f"{V2}/metrics/303/")["eval_type"] == "binary"
    assert ok(ro, "personalities/204/")["language"] == "es"
    for path in ("metrics/999/", "personalities/9/", f"{V2}/aiagents/5/"):
        assert get(ro, path).status_code == 404


@pytest.mark.parametrize(("v2_reads", "status"), [(True, 200), (False, 404)])
def test_v2_reads_can_be_switched_off(make_mock_server: Any, v2_reads: bool, status: int) -> None:
    srv = make_mock_server(runs=50, v2_reads=v2_reads)
    for path in ("runs/", "runs/bulk/?run_ids=1", "runs/1/", "results/", "results/50001/",
                 "aiagents/", "metrics/"):  # fmt: skip
        assert get(srv, f"{V2}/{path}").status_code == status, path
    assert get(srv, "runs/").status_code == 200  # v1 is always served


@pytest.mark.parametrize("max_size", [7, 40])
def test_capped_page_size_loses_nothing(make_mock_server: Any, max_size: int) -> None:
    srv = make_mock_server(runs=300, max_page_size=max_size)
    for path in ("runs/", f"{V2}/runs/", f"{V2}/results/"):
        body = ok(srv, path, page_size=100)
        assert len(body["results"]) == min(max_size, body["count"])  # fewer than asked
        count, items = all_pages(srv, path)
        ids = [r["id"] for r in items]
        assert len(ids) == len(set(ids)) == count


def test_improve_prompt_targets_workflow_metrics(make_mock_server: Any) -> None:
    srv = make_mock_server(job_polls_to_finish=1, job_hash_failures=False)
    body = {"prompt": PROMPT, "run_ids": [5], "workflow_metric_ids": [306, 301],
            "category_ids": [1]}  # fmt: skip
    r = post(srv, "runs/improve_prompt_bg", body)  # no trailing slash, as SDKs send it
    assert r.status_code == 200, r.text
    done = poll(srv, "prompt", r.json()["progress_id"])
    assert done["output"]["summary_of_changes"].endswith("Appointment Booked; Empathy.")


@pytest.mark.parametrize(
    ("body", "errors"),
    [({"prompt": "p", "run_ids": [1, 2, 3, 4]},
      {"run_ids": ["Ensure this field has no more than 3 elements."]}),
     ({"prompt": "p", "run_ids": [1], "workflow_metric_ids": "301"},
      {"workflow_metric_ids": ['Expected a list of items but got type "str".']}),
     ({"prompt": "p", "run_ids": [1], "category_ids": ["x"]},
      {"category_ids": ["A valid integer is required."]}),
     ({"prompt": "p", "run_ids": [1], "workflow_metric_ids": [999]},
      {"workflow_metric_ids": ['Invalid pk "999" - object does not exist.']})],
)  # fmt: skip
def test_improve_prompt_body_validation(
    ro: MockServer, body: dict[str, Any], errors: dict[str, Any]
) -> None:
    r = post(ro, "runs/improve_prompt_bg/", body)
    assert r.status_code == 400 and r.json() == errors


def test_improve_prompt_endpoints_can_be_removed(make_mock_server: Any) -> None:
    srv = make_mock_server(runs=50, improve_prompt_endpoints=False)
    r = post(srv, "runs/improve_prompt_bg/", {"prompt": PROMPT, "run_ids": [5]})
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}
    assert get(srv, "runs/improve_prompt_progress/", progress_id="x").status_code == 404
    inst = post(srv, "scenarios/improve_instructions/", {"agent": 101, "extra_instructions": "x"})
    assert inst.status_code == 200  # scenario instructions stay
