"""The HTTP client: typed one-line errors, retries honouring Retry-After, paging, concurrency."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest
from conftest import MOCK_KEY

from cekura_analytics.api.client import CekuraClient
from cekura_analytics.config import Settings
from cekura_analytics.errors import AuthError, ConnectError, IncompleteError, NotFoundError

KEY = MOCK_KEY  # the key the mock fixtures accept


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


# -- paging never trusts the page size it asked for -----------------------------------------


def _shrink_pages_after_first(srv: Any, client: CekuraClient, to: int) -> None:
    """A server whose page size drops after page 1 (planned pages then miss rows)."""

    def hook(resp: Any, *args: Any, **kwargs: Any) -> Any:
        if "/runs/" in resp.url and "page=1&" in resp.url + "&":
            srv.config.max_page_size = to
        return resp

    client.session.hooks["response"].append(hook)


def test_a_next_link_past_the_planned_pages_is_followed(make_mock_server: Any) -> None:
    """Pages shrink after page 1: the plan (from page 1's length) falls short, and the next
    link of its last page leads on to the end in the same walk."""
    srv = make_mock_server(runs=250, max_page_size=100)
    with CekuraClient(Settings(srv.base_url, KEY)) as c:
        _shrink_pages_after_first(srv, c, 40)
        listing = c.listing("runs/", page_size=100)
        ids = [i["id"] for pages in listing.passes() for _, p in pages for i in p["results"]]
        listing.check()
    # page 1 holds 100 runs, then pages of 40: 2-3 repeat ids of page 1, 4-7 come by next
    assert len(set(ids)) == 250 and listing.distinct == 250
    assert listing.walks == 1 and listing.pages == 7


def test_fetch_all_rewalks_when_ids_repeat(
    make_mock_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Page 2 repeats ten ids of page 1 once (unstable order): the planned walk is short by
    identity, a walk by next links brings the rest."""
    srv = make_mock_server(runs=250, max_page_size=100)
    served: list[str] = []

    def repeat_once(resp: Any, *args: Any, **kwargs: Any) -> Any:
        body = resp.json()
        if "page=2" in resp.url and not served:
            served.append(resp.url)
            first = requests_get_page(srv, 1)
            body["results"] = first[-10:] + body["results"][10:]
            resp._content = json.dumps(body).encode()
        return resp

    with CekuraClient(Settings(srv.base_url, KEY)) as c:
        c.session.hooks["response"].append(repeat_once)
        with caplog.at_level("WARNING", logger="cekura_analytics.api.client"):
            items = c.fetch_all("runs/", page_size=100)
    assert sorted(i["id"] for i in items) == sorted(set(i["id"] for i in items))
    assert len(items) == 250
    assert any("following next links again" in r.getMessage() for r in caplog.records)


def requests_get_page(srv: Any, page: int) -> list[Any]:
    """The results of one runs page straight from the mock (no client)."""
    import requests

    r = requests.get(
        f"{srv.base_url}/test_framework/v2/runs/",
        params={"page": page, "page_size": 100},
        headers={"X-CEKURA-API-KEY": KEY},
        timeout=10,
    )
    return list(r.json()["results"])


def test_fetch_all_names_a_shortfall_it_cannot_close(make_mock_server: Any) -> None:
    """A server whose count promises more rows than its pages hold: a clear error, no guess."""
    srv = make_mock_server(runs=120)

    def inflate(resp: Any, *args: Any, **kwargs: Any) -> Any:
        body = resp.json()
        if isinstance(body, dict) and "count" in body:
            body["count"] += 5
            resp._content = json.dumps(body).encode()
        return resp

    with CekuraClient(Settings(srv.base_url, KEY)) as c:
        c.session.hooks["response"].append(inflate)
        with pytest.raises(
            IncompleteError, match=r"count=125 but 120 distinct ids arrived \(5 missing\)"
        ):
            c.fetch_all("runs/")


def test_pages_are_planned_from_what_page_1_returned(make_mock_server: Any) -> None:
    srv = make_mock_server(runs=95, max_page_size=10)
    with CekuraClient(Settings(srv.base_url, KEY)) as c:
        pages = sorted(c.iter_pages_concurrently("runs/", None, 500), key=lambda p: p[0])
    assert [n for n, _ in pages] == list(range(1, 11))
    assert sum(len(p["results"]) for _, p in pages) == 95


@pytest.mark.parametrize(("env", "want"), [
    ({"CEKURA_API_URL": "http://127.0.0.1:9/"}, "http://127.0.0.1:9"),
    ({"CEKURA_BASE_URL": "http://127.0.0.1:8/", "CEKURA_API_URL": "http://127.0.0.1:9"},
     "http://127.0.0.1:8"),
])  # fmt: skip
def test_the_sdk_base_url_variable_works_too(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], want: str
) -> None:
    from cekura_analytics.config import load_settings

    for k in ("CEKURA_BASE_URL", "CEKURA_API_URL"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert load_settings(api_key="k").base_url == want
