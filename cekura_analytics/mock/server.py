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

from ..errors import ConfigError
from . import routes
from .data import FIRST_RUN_ID, STATUS_CODE, MockData
from .drf import ApiError, ints, json_response
from .faults import FaultMiddleware, MockConfig
from .flaky import flaky_truth
from .jobs import register as register_jobs
from .modes import planted_failures
from .reviews import review_truth
from .state import MockState


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
    routes.register(app, state)
    _register_control(app, state)
    return app


def _register_control(app: FastAPI, st: MockState) -> None:
    """``/_mock/*``: stats, fault settings, arrivals, completion, planted truth (no key)."""

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

    @app.get("/_mock/flaky")
    async def flaky() -> Response:
        # every scenario x metric x version cell: planted pass probability, realised counts
        return json_response({"cells": flaky_truth(st.data)})

    @app.get("/_mock/reviews")
    async def reviews() -> Response:
        # planted overturn / missed rates per metric and the counts the reviews realise
        return json_response(review_truth(st.data))


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
        cfg = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", date_header=False
        )
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
    try:  # first, so a busy port fails at once, before the data is built
        sock = bind_socket(host, port)
    except OSError as exc:
        raise ConfigError(
            f"mock-server cannot listen on {host}:{port} ({exc.strerror or exc}): another "
            "program uses it; pass another --port, or --port 0 for any free one"
        ) from None
    try:
        app = create_app(config)
        data: MockData = app.state.mock.data
        url = f"http://{host}:{sock.getsockname()[1]}"
        last = FIRST_RUN_ID + data.runs.height - 1
        announce(
            f"mock Cekura API on {url}  (runs {FIRST_RUN_ID}..{last}, seed {config.seed}, "
            f"built in {time.perf_counter() - t:.1f}s; Ctrl-C stops)"
        )
        served = uvicorn.Config(app, log_level="warning", access_log=False, date_header=False)
        uvicorn.Server(served).run(sockets=[sock])
    finally:
        sock.close()
