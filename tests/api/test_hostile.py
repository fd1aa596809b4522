"""The client against a hostile server (tests/hostile.py): the key never leaves its host,
and every wait ends: a trickled body, a huge Retry-After, deep JSON, redirects."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from hostile import Hostility

from cekura_analytics import extract
from cekura_analytics.api.client import KEY_HEADER, CekuraClient
from cekura_analytics.cli import cli
from cekura_analytics.config import Settings
from cekura_analytics.errors import ConnectError, OffHostError, ResponseError
from cekura_analytics.lake.maintenance import open_writer
from cekura_analytics.lake.store import Store

KEY = "test-key"


def cli_extract(base_url: str, data_dir: Path) -> tuple[int, list[str], float]:
    """``extract`` as a user runs it: exit code, the non-empty output lines, seconds."""
    start = time.monotonic()
    result = CliRunner().invoke(
        cli,
        ["extract", "--base-url", base_url, "--data-dir", str(data_dir), "--quiet"],
        env={"CEKURA_API_KEY": KEY},
    )
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    return result.exit_code, lines, time.monotonic() - start


def all_runs_stored(proxy: Any, data_dir: Path) -> bool:
    """Every run of the mock is in the runs table, once."""
    runs = Store(data_dir).read("runs")["run_id"]
    return runs.n_unique() == runs.len() and set(runs) == set(proxy.mock.data.runs["id"])


# -- the key stays home ---------------------------------------------------------------------


def test_the_key_is_never_a_session_header_and_goes_to_the_home_origin_only() -> None:
    c = CekuraClient(Settings(base_url="http://127.0.0.1:9", api_key=KEY))
    assert KEY_HEADER not in c.session.headers  # requests keeps those across redirects
    for url, sent in [
        ("http://127.0.0.1:9/test_framework/v1/runs/", True),
        ("http://127.0.0.1:10/test_framework/v1/runs/", False),  # another port
        ("https://127.0.0.1:9/test_framework/v1/runs/", False),  # another scheme
        ("http://localhost:9/test_framework/v1/runs/", False),  # another host name
    ]:
        prepared = c.session.prepare_request(requests.Request("GET", url))
        assert (prepared.headers.get(KEY_HEADER) == KEY) is sent, url
    with pytest.raises(OffHostError, match=r"http://127\.0\.0\.1:10.*not followed"):
        c.get("http://127.0.0.1:10/test_framework/v1/runs/")


@pytest.mark.parametrize(
    "hostility",
    [Hostility(redirect="offhost"), Hostility(next_offhost=True)],
    ids=["302-to-another-host", "absolute-next-to-another-host"],
)
def test_a_redirect_or_next_link_to_another_host_is_an_error_and_gets_no_key(
    hostile_server: Any, tmp_path: Path, hostility: Hostility
) -> None:
    proxy = hostile_server(hostility)
    code, lines, elapsed = cli_extract(proxy.base_url, tmp_path)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("error:") and proxy.recorder.base_url.split("//")[1] in lines[0]
    assert "not followed" in lines[0] and KEY not in lines[0]
    assert proxy.recorder.requests == [] and proxy.recorder.saw_key == 0
    assert elapsed < 30


def test_a_redirect_within_the_host_is_followed_with_the_key(
    hostile_server: Any, tmp_path: Path
) -> None:
    proxy = hostile_server(Hostility(redirect="same"))
    code, lines, _ = cli_extract(proxy.base_url, tmp_path)
    assert code == 0, lines
    assert all_runs_stored(proxy, tmp_path)
    assert proxy.without_key == 0  # the redirected requests carried it (the mock wants it)


# -- every wait ends ------------------------------------------------------------------------


def test_a_trickled_body_fails_at_the_deadline(hostile_server: Any, tmp_path: Path) -> None:
    """A byte every 1.5 s never trips the 10 s per-read timeout; the 2 s deadline ends it."""
    proxy = hostile_server(Hostility(trickle_s=1.5))
    deadline = 2.0
    client = CekuraClient(
        Settings(proxy.base_url, KEY), timeout=(5.0, 10.0), deadline=deadline, concurrency=2
    )
    start = time.monotonic()
    with pytest.raises(ConnectError) as err:
        extract(tmp_path, client=client, quiet=True)
    elapsed = time.monotonic() - start
    assert "2 s deadline" in str(err.value) and "\n" not in str(err.value)
    assert elapsed < 3 * deadline
    assert proxy.total == 1  # no retry once the deadline has passed


def test_a_huge_retry_after_fails_at_once_saying_when_and_frees_the_data_dir(
    hostile_server: Any, tmp_path: Path
) -> None:
    proxy = hostile_server(Hostility(retry_after=100_000))
    code, lines, elapsed = cli_extract(proxy.base_url, tmp_path)
    assert code == 1 and len(lines) == 1, lines
    assert "429" in lines[0] and "27.8 h" in lines[0] and "rerun then" in lines[0]
    assert elapsed < 10  # urllib3 alone would sleep its 6-hour cap, holding the lock
    assert proxy.total == 1
    with open_writer(tmp_path):  # the writer lock is free again
        pass


def test_a_retry_after_under_the_cap_is_waited_out(make_mock_server: Any) -> None:
    srv = make_mock_server(rate_limit_rps=2)
    with CekuraClient(Settings(srv.base_url, KEY), retry_after_max=5) as c:
        for i in range(1, 6):
            assert c.get(f"/runs/{i}/")["id"] == i
    assert srv.stats()["total"] > 5  # some were answered 429, waited out and retried


def test_json_nested_100k_deep_is_one_line(hostile_server: Any, tmp_path: Path) -> None:
    proxy = hostile_server(Hostility(deep_json=100_000))
    code, lines, elapsed = cli_extract(proxy.base_url, tmp_path)
    assert code == 1 and len(lines) == 1, lines
    assert "nested too deep" in lines[0] and "Traceback" not in lines[0]
    assert elapsed < 10


def test_next_links_far_past_what_count_allows_are_capped(hostile_server: Any) -> None:
    """count=1 allows one 10-row page; next links going on for 30 pages stop at the cap
    (2 × pages(count) + 10), loudly."""
    proxy = hostile_server(Hostility(count_delta=-299))
    with (
        CekuraClient(Settings(proxy.base_url, KEY)) as c,
        pytest.raises(ResponseError, match=r"past 12 pages although count=1 fits in 1"),
    ):
        c.fetch_all("runs/", page_size=10)
    assert proxy.total == 12
