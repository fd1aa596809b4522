"""The HTTP client: typed one-line errors, retries honouring Retry-After, paging, concurrency."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from cekura_analytics.client import CekuraClient
from cekura_analytics.config import Settings
from cekura_analytics.errors import AuthError, ConnectError, NotFoundError

KEY = "test-key"


def client_for(srv: Any, key: str = KEY, **kw: Any) -> CekuraClient:
    return CekuraClient(Settings(base_url=srv.base_url, api_key=key), **kw)


def test_iter_pages_follows_next_to_the_end(mock_server: Any) -> None:
    with client_for(mock_server) as c:
        pages = list(c.iter_pages("/runs/", page_size=97))
    ids = [r["id"] for p in pages for r in p["results"]]
    assert len(ids) == len(set(ids)) == pages[0]["count"]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert pages[-1]["next"] is None


def test_concurrent_pages_equal_sequential_pages(mock_server: Any) -> None:
    with client_for(mock_server) as c:
        seq = [r["id"] for p in c.iter_pages("/runs/", page_size=50) for r in p["results"]]
        conc = [
            r["id"]
            for _, p in sorted(c.iter_pages_concurrently("/runs/", None, 50), key=lambda x: x[0])
            for r in p["results"]
        ]
    assert seq == conc


def test_concurrency_is_bounded(mock_server: Any) -> None:
    in_flight = peak = 0
    lock = threading.Lock()
    mock_server.config.latency_ms = 20
    with client_for(mock_server, concurrency=3) as c:

        def fetch(i: int) -> int:
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            try:
                return len(c.get(f"/runs/{i}/")["transcript"] or "")
            finally:
                with lock:
                    in_flight -= 1

        assert len(list(c.map_concurrently(fetch, range(1, 25)))) == 24
    assert peak <= 3


@pytest.mark.parametrize(
    ("path", "key", "error", "words"),
    [
        ("/runs/", "sk-wrong-123", AuthError, ["401", "CEKURA_API_KEY"]),
        ("/no_such_endpoint/", KEY, NotFoundError, ["404", "/test_framework/v1/no_such_endpoint/"]),
        ("/runs/999999999/", KEY, NotFoundError, ["404"]),
    ],
)
def test_errors_are_typed_one_liners(
    mock_server: Any, path: str, key: str, error: type[Exception], words: list[str]
) -> None:
    with client_for(mock_server, key=key) as c, pytest.raises(error) as exc:
        c.get(path)
    message = str(exc.value)
    assert "\n" not in message
    assert "sk-wrong" not in message
    for w in words:
        assert w in message


def test_unreachable_host_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = CekuraClient(Settings(base_url=f"http://127.0.0.1:{port}", api_key=KEY))
    with pytest.raises(ConnectError) as exc:
        c.get("/runs/")
    assert "cannot reach" in str(exc.value) and "\n" not in str(exc.value)


def test_rate_limit_is_retried_honouring_retry_after(mock_server: Any) -> None:
    mock_server.config.rate_limit_rps = 5
    with client_for(mock_server) as c:
        start = time.monotonic()
        for i in range(1, 13):
            c.get(f"/runs/{i}/")
        elapsed = time.monotonic() - start
    stats = mock_server.stats()
    assert stats["total"] > 12  # some requests were answered 429 and retried
    assert elapsed >= 1.0  # at least one Retry-After: 1 was waited out


def test_server_errors_are_retried(mock_server: Any) -> None:
    mock_server.config.fail_rate = 0.3
    with client_for(mock_server) as c:
        for i in range(1, 30):
            assert c.get(f"/runs/{i}/")["id"] == i
    assert mock_server.stats()["total"] > 29
