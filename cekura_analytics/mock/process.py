"""The mock server as a user runs it: in the foreground (:func:`mock_server`, the CLI's
``mock-server``) or in its own process (:func:`mock_process`, for the demo and benchmarks).
Nothing here imports the server until it is started, so the ``[mock]`` extra stays optional."""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from ..errors import ConfigError


def need_mock_extra() -> None:
    """The mock server needs fastapi and uvicorn (the ``[mock]`` extra): say so in one line."""
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        raise ConfigError(
            "the mock server needs the [mock] extra: pip install 'cekura-analytics[mock]'"
        )


def mock_server(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    announce: Callable[[str], None] = print,
    **settings: Any,
) -> None:
    """Serve the mock in the foreground until interrupted; ``settings`` are MockConfig fields."""
    need_mock_extra()
    from .faults import MockConfig
    from .server import serve_forever

    serve_forever(MockConfig(**settings), host=host, port=port, announce=announce)


@contextlib.contextmanager
def mock_process(
    runs: int, seed: int, api_key: str, *, latency_ms: int = 0, timeout: float = 120
) -> Iterator[str]:
    """``cekura-analytics mock-server`` in its own process (its own core); yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "cekura_analytics", "mock-server", "--port", str(port),
           "--runs", str(runs), "--seed", str(seed), "--api-key", api_key,
           "--latency-ms", str(latency_ms)]  # fmt: skip
    # stderr to a file, not a pipe: a long-lived server must never block on a full pipe
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    requests.get(f"{url}/_mock/stats", timeout=1)
                    break
                except requests.ConnectionError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        err = log.read().decode(errors="replace")[-300:]
                        raise ConfigError(f"the mock server did not start: {err.strip()}") from None
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(10)
