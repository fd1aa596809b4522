"""The mock Cekura API: a FastAPI app speaking the contract, and :class:`MockServer`, which
runs it on 127.0.0.1 in a background thread for tests and the demo.

Endpoints answer raw JSON bytes (no response models: the bulk and list endpoints are hot).
Errors follow Django REST framework's shapes: ``{"detail": ...}`` for 401/404,
``{"field": ["message"]}`` for 400.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from . import catalog as C
from . import entities as E
from .data import FIRST_RUN_ID, STATUS_CODE, MockData
from .drf import (
    MAX_BULK,
    ApiError,
    detail_id,
    ints,
    json_response,
    page_bounds,
    paginated,
    paginated_json,
    run_query,
)
from .faults import FaultMiddleware, MockConfig, Stats
from .jobs import JobStore
from .jobs import register as register_jobs
from .modes import planted_failures
from .render import run_full, run_list_item_json

V1 = "/test_framework/v1"


class MockState:
    """What the routes share: config, data, stats (and, in phase 2, jobs)."""

    def __init__(self, config: MockConfig, data: MockData) -> None:
        self.config = config
        self.data = data
        self.stats = Stats()
        self.jobs: JobStore | None = None  # set by jobs.register


def create_app(
    config: MockConfig | None = None, data: MockData | None = None, now: datetime | None = None
) -> FastAPI:
    """Build the mock app (data built from ``config.seed``/``config.runs`` unless given)."""
    config = config or MockConfig()
    data = data or MockData(config.seed, config.runs, now)
    state = MockState(config, data)
    app = FastAPI(title="Cekura mock", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.mock = state

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return json_response(exc.body, exc.status)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_middleware(FaultMiddleware, config=config, stats=state.stats)
    # Jobs first: their fixed paths (runs/improve_prompt_progress/) would otherwise be
    # taken by the runs/{id}/ and scenarios/{id}/ detail routes.
    register_jobs(app, state)
    _register_runs(app, state)
    _register_catalogue(app, state)
    _register_control(app, state)
    return app


def _register_runs(app: FastAPI, st: MockState) -> None:
    """Runs: list, bulk, detail."""

    @app.get(f"{V1}/runs/")
    async def runs_list(request: Request) -> Response:
        q = run_query(request)
        if st.config.arrivals_per_list > 0:  # page drift: new runs land before this page
            st.data.add_runs(st.config.arrivals_per_list)
        ids = st.data.filter_runs(q)
        count = len(ids)
        page, size = page_bounds(request, count)
        hi = count - (page - 1) * size  # ids ascend; pages go newest first
        lo = max(0, hi - size)
        rows = st.data.rows(ids.slice(lo, hi - lo).reverse().to_list())
        items = [run_list_item_json(st.data, r) for r in rows]
        return paginated_json(request, count, page, size, items)

    @app.get(f"{V1}/runs/bulk/")
    async def runs_bulk(request: Request) -> Response:
        raw = ",".join(request.query_params.getlist("run_ids"))
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not parts:
            raise ApiError(400, {"run_ids": ["This field is required."]})
        if len(parts) > MAX_BULK:
            msg = f"Ensure this field has no more than {MAX_BULK} elements."
            raise ApiError(400, {"run_ids": [msg]})
        try:
            wanted = list(dict.fromkeys(int(p) for p in parts))  # asked order, no repeats
        except ValueError:
            raise ApiError(400, {"run_ids": ["A valid integer is required."]}) from None
        return json_response([run_full(st.data, r) for r in st.data.rows(wanted)])

    @app.get(f"{V1}/runs/{{run_id}}/")
    async def run_detail(run_id: str) -> Response:
        rid = detail_id(run_id)
        row = st.data.row(rid) if rid is not None else None
        if row is None:
            raise ApiError(404, {"detail": "No Run matches the given query."})
        return json_response(run_full(st.data, row))


def _register_catalogue(app: FastAPI, st: MockState) -> None:
    """Scenarios, results, metrics, personalities, agents."""

    @app.get(f"{V1}/scenarios/")
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
        page, size = page_bounds(request, len(picked))
        chunk = picked[(page - 1) * size : page * size]
        items = [E.scenario_list_item(st.data, si) for si in chunk]
        return paginated(request, len(picked), page, size, items)

    @app.get(f"{V1}/scenarios/{{scenario_id}}/")
    async def scenario_detail(scenario_id: str) -> Response:
        si = C.SCENARIO_BY_ID.get(detail_id(scenario_id) or -1)
        if si is None:
            raise ApiError(404, {"detail": "No Scenario matches the given query."})
        return json_response(E.scenario_detail(st.data, si))

    @app.get(f"{V1}/results/")
    async def results_list(request: Request) -> Response:
        agents = ints(request, "agent_id")
        project = ints(request, "project_id")
        res = st.data.results
        if agents is not None:
            res = res.filter(res["agent"].is_in([C.AGENT_BY_ID.get(a, -1) for a in agents]))
        if project is not None and C.PROJECT_ID not in project:
            res = res.head(0)
        count = res.height
        page, size = page_bounds(request, count)
        hi = count - (page - 1) * size
        lo = max(0, hi - size)
        items = []
        for r in reversed(res.slice(lo, hi - lo).rows(named=True)):  # newest first
            items.append(E.result_item(st.data, r, st.data.result_runs(r).rows(named=True)))
        return paginated(request, count, page, size, items)

    @app.get(f"{V1}/results/{{result_id}}/")
    async def result_detail(result_id: str) -> Response:
        rid = detail_id(result_id)
        res = st.data.result_row(rid) if rid is not None else None
        if res is None:
            raise ApiError(404, {"detail": "No Result matches the given query."})
        return json_response(E.result_detail(st.data, res))

    @app.get(f"{V1}/metrics/")
    async def metrics_list(request: Request) -> Response:
        agents = ints(request, "agent_id")
        items = [E.metric_item(st.data, mi) for mi in range(len(C.METRICS))]
        if agents is not None:
            items = [m for m in items if set(m["agents"]) & set(agents)]
        return json_response(items)

    @app.get(f"{V1}/personalities/")
    async def personalities_list(request: Request) -> Response:
        lang = request.query_params.get("language")
        items = [E.personality_item(st.data, pi) for pi in range(len(C.PERSONALITIES))]
        return json_response([p for p in items if not lang or p["language"] == lang])

    @app.get(f"{V1}/aiagents/")
    async def agents_list(request: Request) -> Response:
        needle = request.query_params.get("q", "").lower()
        project = ints(request, "project_id")
        picked = [ai for ai, a in enumerate(C.AGENTS) if needle in a.name.lower()]
        if project is not None and C.PROJECT_ID not in project:
            picked = []
        page, size = page_bounds(request, len(picked))
        items = [E.agent_item(st.data, ai) for ai in picked[(page - 1) * size : page * size]]
        return paginated(request, len(picked), page, size, items)


def _register_control(app: FastAPI, st: MockState) -> None:
    """``/_mock/*``: stats, fault settings, arrivals, completion (no key needed)."""

    @app.get("/_mock/stats")
    async def stats() -> Response:
        return json_response(st.stats.snapshot())

    @app.post("/_mock/stats/reset")
    async def stats_reset() -> Response:
        st.stats.reset()
        return json_response(st.stats.snapshot())

    @app.get("/_mock/faults")
    async def faults_get() -> Response:
        return json_response(st.config.faults())

    @app.post("/_mock/faults")
    async def faults_set(request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            st.config.update(body)
        except ValueError as exc:
            raise ApiError(400, {"detail": str(exc)}) from None
        return json_response(st.config.faults())

    @app.post("/_mock/runs/add")
    async def runs_add(request: Request) -> Response:
        n = ints(request, "n") or [1]
        status = request.query_params.get("status")
        if status is not None and status not in STATUS_CODE:
            raise ApiError(400, {"status": [f"unknown status {status!r}"]})
        ids = st.data.add_runs(n[0], status)
        return json_response({"added": ids, "count": st.data.runs.height})

    @app.post("/_mock/runs/complete")
    async def runs_complete() -> Response:
        return json_response({"completed": st.data.complete_all()})

    @app.get("/_mock/failure_modes")
    async def failure_modes() -> Response:
        # the planted mode of every failed result, so tests can score recovered modes
        return json_response({"failures": planted_failures(st.data)})


class MockServer:
    """The mock on 127.0.0.1 in a background thread; use as a context manager.

    Keyword arguments other than the ones below go to :class:`MockConfig` (``latency_ms``,
    ``fail_rate``, ``rate_limit_rps``, ``truncate_rate``, ``extra_fields``, ...).
    """

    def __init__(
        self,
        runs: int = 1000,
        seed: int = 0,
        api_key: str = "test-key",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        now: datetime | None = None,
        data: MockData | None = None,
        **config: Any,
    ) -> None:
        self.config = MockConfig(api_key=api_key, seed=seed, runs=runs, **config)
        self.app = create_app(self.config, data, now)
        self.state: MockState = self.app.state.mock
        self.data = self.state.data
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    def stats(self) -> dict[str, Any]:
        """Request counts, as ``GET /_mock/stats`` reports them."""
        return self.state.stats.snapshot()

    def reset_stats(self) -> None:
        """Forget request counts."""
        self.state.stats.reset()

    def start(self) -> MockServer:
        """Bind, serve in a daemon thread, and wait until the server answers."""
        self._sock = bind_socket(self.host, self.port)
        self.port = self._sock.getsockname()[1]
        cfg = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._server.started:
                try:
                    with urllib.request.urlopen(f"{self.base_url}/_mock/stats", timeout=2):
                        return self
                except OSError:
                    pass
            if not self._thread.is_alive():
                break
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"mock server did not start on {self.base_url}")

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 = any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve_forever(
    config: MockConfig, host: str = "127.0.0.1", port: int = 8765,
    announce: Callable[[str], None] = print,
) -> None:  # fmt: skip
    """Run the mock in the foreground until interrupted (the ``mock-server`` command)."""
    t = time.perf_counter()
    app = create_app(config)
    data: MockData = app.state.mock.data
    sock = bind_socket(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    announce(
        f"mock Cekura API on {url}  (runs {FIRST_RUN_ID}..{FIRST_RUN_ID + data.runs.height - 1}, "
        f"seed {config.seed}, built in {time.perf_counter() - t:.1f}s; Ctrl-C stops)"
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
