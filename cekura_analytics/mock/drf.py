"""Django-REST-framework behaviour the mock imitates: query parsing, filter errors,
page-number pagination with absolute links, and error bodies."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from . import catalog as C
from .data import STATUS_CODE, RunQuery, to_us
from .faults import json_bytes

DEFAULT_PAGE_SIZE = 30  # the service's documented default
MAX_BULK = 100
NOT_FOUND = {"detail": "Not found."}


class ApiError(Exception):
    """An error answer with a DRF-shaped body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def json_response(obj: Any, status: int = 200) -> Response:
    """JSON bytes straight into a response (skips FastAPI's encoder)."""
    return Response(content=json_bytes(obj), status_code=status, media_type="application/json")


def ints(request: Request, name: str) -> list[int] | None:
    """A comma-separated integer list parameter (None when absent)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise ApiError(400, {name: ["Enter a number."]}) from None


def one_of(request: Request, *names: str) -> list[int] | None:
    """Merge equivalent filters (``agent_id`` / ``result__agent_id``, ``x`` / ``x__in``)."""
    out: list[int] | None = None
    for name in names:
        vals = ints(request, name)
        if vals is not None:
            out = vals if out is None else [v for v in out if v in vals]
    return out


def when(request: Request, name: str) -> int | None:
    """An ISO 8601 date-time parameter (``Z`` or offsets; naive means UTC) in epoch µs."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        dt = datetime.fromisoformat(raw.strip().replace(" ", "+"))  # '+' may arrive as space
    except ValueError:
        raise ApiError(400, {name: ["Enter a valid date/time."]}) from None
    return to_us(dt if dt.tzinfo else dt.replace(tzinfo=UTC))


def run_query(request: Request) -> RunQuery:
    """Parse the run-list filters; unknown ids simply match nothing (as in Django)."""
    q = RunQuery(ts_gte=when(request, "timestamp__gte"), ts_lte=when(request, "timestamp__lte"))
    agents = one_of(request, "agent_id", "result__agent_id", "result__agent_id__in")
    if agents is not None:
        q.agents = [C.AGENT_BY_ID[a] for a in agents if a in C.AGENT_BY_ID]
    project = ints(request, "project_id")
    q.project_ok = project is None or C.PROJECT_ID in project
    q.results = one_of(request, "result_id", "result__id")
    q.ids = one_of(request, "id", "id__in")
    scen = one_of(request, "scenario__id", "scenario__id__in")
    if scen is not None:
        q.scenarios = [C.SCENARIO_BY_ID[s] for s in scen if s in C.SCENARIO_BY_ID]
    pers = one_of(request, "personality__id", "personality__id__in")
    if pers is not None:
        q.personalities = [C.PERSONALITY_BY_ID[p] for p in pers if p in C.PERSONALITY_BY_ID]
    statuses: list[str] | None = None
    for name in ("status", "status__in"):
        raw = request.query_params.get(name)
        if raw:
            vals = [s.strip() for s in raw.split(",") if s.strip()]
            for v in vals:
                if v not in STATUS_CODE:
                    msg = f"Select a valid choice. {v} is not one of the available choices."
                    raise ApiError(400, {name: [msg]})
            statuses = vals if statuses is None else [s for s in statuses if s in vals]
    if statuses is not None:
        q.statuses = [STATUS_CODE[s] for s in statuses]
    success = request.query_params.get("success", "").lower()
    q.success = {"true": True, "1": True, "false": False, "0": False}.get(success)
    return q


def page_bounds(request: Request, count: int, max_size: int) -> tuple[int, int]:
    """(page, page_size) like DRF's PageNumberPagination (``page_size`` capped at
    ``max_size``, so a page may hold fewer rows than asked); 404 for an out-of-range page."""
    try:
        size = int(request.query_params.get("page_size", DEFAULT_PAGE_SIZE))
        size = min(DEFAULT_PAGE_SIZE, max_size) if size <= 0 else min(size, max_size)
    except ValueError:
        size = min(DEFAULT_PAGE_SIZE, max_size)
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        raise ApiError(404, {"detail": "Invalid page."}) from None
    if page < 1 or page > max(1, math.ceil(count / size)):
        raise ApiError(404, {"detail": "Invalid page."})
    return page, size


def _links(request: Request, count: int, page: int, size: int) -> dict[str, Any]:
    """``count``, ``next`` and ``previous`` with absolute links (DRF drops ``page=1``)."""
    url = request.url
    nxt = str(url.include_query_params(page=page + 1)) if page * size < count else None
    prev = None
    if page > 1:
        prev_url = url.remove_query_params("page") if page == 2 else None
        prev = str(prev_url or url.include_query_params(page=page - 1))
    return {"count": count, "next": nxt, "previous": prev}


def paginated(request: Request, count: int, page: int, size: int, results: list[Any]) -> Response:
    """The ``{count, next, previous, results}`` envelope."""
    return json_response({**_links(request, count, page, size), "results": results})


def paginated_json(
    request: Request, count: int, page: int, size: int, results: list[bytes]
) -> Response:
    """The same envelope around items that are already JSON-encoded."""
    head = json_bytes(_links(request, count, page, size))[:-1]
    body = head + b',"results":[' + b",".join(results) + b"]}"
    return Response(content=body, media_type="application/json")


def detail_id(raw: str) -> int | None:
    """A path id, or None when it is not an integer (answered as 404, like Django)."""
    try:
        return int(raw)
    except ValueError:
        return None


def slashed(*paths: str) -> list[str]:
    """Each path with and without its trailing slash (both answered directly, no redirect)."""
    return [p for path in paths for p in (path.rstrip("/") + "/", path.rstrip("/"))]


def route(app: FastAPI, method: str, *paths: str) -> Callable[[Callable[..., Any]], Any]:
    """Register one endpoint under every path, with and without the trailing slash."""

    def deco(fn: Callable[..., Any]) -> Any:
        for path in slashed(*paths):
            app.add_api_route(path, fn, methods=[method])
        return fn

    return deco
