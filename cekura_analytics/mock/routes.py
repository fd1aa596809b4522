"""The read endpoints, v1 and v2, under every path real clients call.

v1 answers under ``/test_framework/v1/`` and the official SDK's ``*-external`` aliases
(``runs-external``, ``results-external``, ``scenarios-external``); v2 under
``/test_framework/v2/`` (runs, runs bulk and detail, results, agents, metrics), 404 when
``MockConfig.v2_reads`` is off. Every path answers with and without its trailing slash.
Scenarios and personalities exist on v1 only, as on the service.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from . import catalog as C
from . import entities as E
from .drf import (
    MAX_BULK,
    NOT_FOUND,
    ApiError,
    detail_id,
    ints,
    json_response,
    page_bounds,
    paginated,
    paginated_json,
    route,
    run_query,
)
from .render import run_full, run_list_item_json
from .state import MockState

V1 = "/test_framework/v1"
V2 = "/test_framework/v2"


def register(app: FastAPI, st: MockState) -> None:
    """Add every read endpoint (after the jobs, whose fixed paths must win)."""
    _runs(app, st, "v1", f"{V1}/runs", f"{V1}/runs-external")
    _runs(app, st, "v2", f"{V2}/runs")
    _results(app, st, "v1", f"{V1}/results", f"{V1}/results-external")
    _results(app, st, "v2", f"{V2}/results")
    _scenarios(app, st, f"{V1}/scenarios", f"{V1}/scenarios-external")
    _metrics(app, st, "v1", f"{V1}/metrics")
    _metrics(app, st, "v2", f"{V2}/metrics")
    _agents(app, st, "v1", f"{V1}/aiagents")
    _agents(app, st, "v2", f"{V2}/aiagents")
    _personalities(app, st, f"{V1}/personalities")


def _served(st: MockState, api: str) -> None:
    """404 for v2 paths on a server without them (``v2_reads`` off)."""
    if api == "v2" and not st.config.v2_reads:
        raise ApiError(404, NOT_FOUND)


def _bulk_ids(request: Request) -> list[int]:
    """The ``run_ids`` (or the SDK's ``ids``) parameter: a comma-separated string."""
    raw = ",".join(request.query_params.getlist("run_ids") or request.query_params.getlist("ids"))
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise ApiError(400, {"run_ids": ["This field is required."]})
    if len(parts) > MAX_BULK:
        raise ApiError(
            400, {"run_ids": [f"Ensure this field has no more than {MAX_BULK} elements."]}
        )
    try:
        return list(dict.fromkeys(int(p) for p in parts))  # asked order, no repeats
    except ValueError:
        raise ApiError(400, {"run_ids": ["A valid integer is required."]}) from None


def _runs(app: FastAPI, st: MockState, api: str, *bases: str) -> None:
    """Runs: list, bulk, detail."""

    @route(app, "GET", *(f"{b}/" for b in bases))
    async def runs_list(request: Request) -> Response:
        _served(st, api)
        q = run_query(request)
        if st.config.arrivals_per_list > 0:  # page drift: new runs land before this page
            st.data.add_runs(st.config.arrivals_per_list)
        ids = st.data.filter_runs(q)
        count = len(ids)
        page, size = page_bounds(request, count, st.config.max_page_size)
        hi = count - (page - 1) * size  # ids ascend; pages go newest first
        lo = max(0, hi - size)
        rows = st.data.rows(ids.slice(lo, hi - lo).reverse().to_list())
        items = [run_list_item_json(st.data, r, api) for r in rows]
        return paginated_json(request, count, page, size, items)

    @route(app, "GET", *(f"{b}/bulk/" for b in bases))
    async def runs_bulk(request: Request) -> Response:
        _served(st, api)
        wanted = _bulk_ids(request)
        return json_response([run_full(st.data, r, api) for r in st.data.rows(wanted)])

    @route(app, "GET", *(f"{b}/{{run_id}}/" for b in bases))
    async def run_detail(run_id: str) -> Response:
        _served(st, api)
        rid = detail_id(run_id)
        row = st.data.row(rid) if rid is not None else None
        if row is None:
            raise ApiError(404, {"detail": "No Run matches the given query."})
        return json_response(run_full(st.data, row, api))


def _results(app: FastAPI, st: MockState, api: str, *bases: str) -> None:
    """Results: list (``runs`` an array) and detail (``runs`` keyed by run id)."""

    @route(app, "GET", *(f"{b}/" for b in bases))
    async def results_list(request: Request) -> Response:
        _served(st, api)
        agents = ints(request, "agent_id")
        project = ints(request, "project_id")
        res = st.data.results
        if agents is not None:
            res = res.filter(res["agent"].is_in([C.AGENT_BY_ID.get(a, -1) for a in agents]))
        if project is not None and C.PROJECT_ID not in project:
            res = res.head(0)
        count = res.height
        page, size = page_bounds(request, count, st.config.max_page_size)
        hi = count - (page - 1) * size
        lo = max(0, hi - size)
        items = [
            E.result_item(st.data, r, st.data.result_runs(r).rows(named=True), api)
            for r in reversed(res.slice(lo, hi - lo).rows(named=True))  # newest first
        ]
        return paginated(request, count, page, size, items)

    @route(app, "GET", *(f"{b}/{{result_id}}/" for b in bases))
    async def result_detail(result_id: str) -> Response:
        _served(st, api)
        rid = detail_id(result_id)
        res = st.data.result_row(rid) if rid is not None else None
        if res is None:
            raise ApiError(404, {"detail": "No Result matches the given query."})
        return json_response(E.result_detail(st.data, res, api))


def _scenarios(app: FastAPI, st: MockState, *bases: str) -> None:
    """Scenarios: list with filters, detail."""

    @route(app, "GET", *(f"{b}/" for b in bases))
    async def scenarios_list(request: Request) -> Response:
        agents = ints(request, "agent_id")
        project = ints(request, "project_id")
        tags = [t for t in request.query_params.get("tags", "").split(",") if t]
        match_all = request.query_params.get("tag_filter_type", "any") == "all"
        folder = request.query_params.get("folder_path")
        picked = []
        for si, sc in enumerate(C.SCENARIOS):
            if agents is not None and C.AGENTS[sc.agent_idx].id not in agents:
                continue
            if project is not None and C.PROJECT_ID not in project:
                continue
            if tags and not (all if match_all else any)(t in sc.tags for t in tags):
                continue
            if folder and sc.folder_path != folder:
                continue
            picked.append(si)
        page, size = page_bounds(request, len(picked), st.config.max_page_size)
        chunk = picked[(page - 1) * size : page * size]
        items = [E.scenario_list_item(st.data, si) for si in chunk]
        return paginated(request, len(picked), page, size, items)

    @route(app, "GET", *(f"{b}/{{scenario_id}}/" for b in bases))
    async def scenario_detail(scenario_id: str) -> Response:
        si = C.SCENARIO_BY_ID.get(detail_id(scenario_id) or -1)
        if si is None:
            raise ApiError(404, {"detail": "No Scenario matches the given query."})
        return json_response(E.scenario_detail(st.data, si))


def _metrics(app: FastAPI, st: MockState, api: str, base: str) -> None:
    """Metrics: a bare array (not paginated), and one metric."""

    @route(app, "GET", f"{base}/")
    async def metrics_list(request: Request) -> Response:
        _served(st, api)
        agents = ints(request, "agent_id")
        items = [E.metric_item(st.data, mi, api) for mi in range(len(C.METRICS))]
        if agents is not None:
            items = [m for m in items if set(m["agents"]) & set(agents)]
        return json_response(items)

    @route(app, "GET", f"{base}/{{metric_id}}/")
    async def metric_detail(metric_id: str) -> Response:
        _served(st, api)
        mi = C.METRIC_BY_ID.get(detail_id(metric_id) or -1)
        if mi is None:
            raise ApiError(404, {"detail": "No Metric matches the given query."})
        return json_response(E.metric_item(st.data, mi, api))


def _agents(app: FastAPI, st: MockState, api: str, base: str) -> None:
    """Agents: paginated list (``q`` searches names), and one agent."""
    shape = E.agent_v2 if api == "v2" else E.agent_item

    @route(app, "GET", f"{base}/")
    async def agents_list(request: Request) -> Response:
        _served(st, api)
        needle = request.query_params.get("q", "").lower()
        project = ints(request, "project_id")
        picked = [ai for ai, a in enumerate(C.AGENTS) if needle in a.name.lower()]
        if project is not None and C.PROJECT_ID not in project:
            picked = []
        page, size = page_bounds(request, len(picked), st.config.max_page_size)
        items = [shape(st.data, ai) for ai in picked[(page - 1) * size : page * size]]
        return paginated(request, len(picked), page, size, items)

    @route(app, "GET", f"{base}/{{agent_id}}/")
    async def agent_detail(agent_id: str) -> Response:
        _served(st, api)
        ai = C.AGENT_BY_ID.get(detail_id(agent_id) or -1)
        if ai is None:
            raise ApiError(404, {"detail": "No AIAgent matches the given query."})
        return json_response(shape(st.data, ai))


def _personalities(app: FastAPI, st: MockState, base: str) -> None:
    """Personalities: a bare array (``language`` filter), and one personality."""

    @route(app, "GET", f"{base}/")
    async def personalities_list(request: Request) -> Response:
        lang = request.query_params.get("language")
        items = [E.personality_item(st.data, pi) for pi in range(len(C.PERSONALITIES))]
        return json_response([p for p in items if not lang or p["language"] == lang])

    @route(app, "GET", f"{base}/{{personality_id}}/")
    async def personality_detail(personality_id: str) -> Response:
        pi = C.PERSONALITY_BY_ID.get(detail_id(personality_id) or -1)
        if pi is None:
            raise ApiError(404, {"detail": "No Personality matches the given query."})
        return json_response(E.personality_item(st.data, pi))
