"""extract() against a hostile server (tests/hostile.py) and wrong clocks: every run stored,
or a loud one-line failure that leaves the window open, in bounded time and memory."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from hostile import Hostility

from cekura_analytics import extract
from cekura_analytics.errors import CekuraError, IncompleteError, ResponseError
from cekura_analytics.lake.maintenance import open_writer
from cekura_analytics.lake.store import Store
from cekura_analytics.lake.sync import ExtractSummary
from cekura_analytics.mock.data import FIRST_RUN_ID
from cekura_analytics.present.text import extract_summary

KEY = "test-key"
MB = 1 << 20


@pytest.fixture(autouse=True)
def key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CEKURA_API_KEY", KEY)


def stored_ids(data_dir: Path) -> set[int]:
    runs = Store(data_dir).read("runs")["run_id"]
    assert runs.n_unique() == runs.len()  # nothing twice
    return set(runs.to_list())


def mock_ids(proxy: Any) -> set[int]:
    return set(proxy.mock.data.runs["id"].to_list())


def timed(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """``fn()`` (or the error it raised), its seconds, and the RSS it added (bytes)."""
    proc = psutil.Process()
    rss = proc.memory_info().rss
    start = time.monotonic()
    try:
        out = fn()
    except CekuraError as exc:
        out = exc
    return out, time.monotonic() - start, proc.memory_info().rss - rss


def watermark(data_dir: Path) -> str | None:
    return Store(data_dir).state.scopes.get("all", {}).get("watermark")


# -- no loss, or a loud failure that the next honest sync repairs -------------------------


@pytest.mark.parametrize(
    "hostility",
    [
        Hostility(repeat_ids=20),
        Hostility(repeat_ids=20, repeat_always=True),
        Hostility(count_delta=-150),
        Hostility(hidden={FIRST_RUN_ID + 300 - 50}),
        Hostility(repeat_ids=7, paths=("results/", "scenarios/")),
    ],
    ids=[
        "ids-repeated-once",
        "ids-repeated-every-time",  # walks never settle: time slices of one page each
        "count-under-by-150",
        "back-dated-run-mid-sync",
        "refs-repeated",
    ],
)
def test_every_run_is_stored(hostile_server: Any, tmp_path: Path, hostility: Hostility) -> None:
    proxy = hostile_server(hostility)
    summary, elapsed, _ = timed(lambda: extract(tmp_path, base_url=proxy.base_url, quiet=True))
    assert isinstance(summary, ExtractSummary), summary
    assert stored_ids(tmp_path) == mock_ids(proxy)
    assert summary.runs_fetched == summary.runs_listed == 300  # distinct, not rows summed
    if hostility.repeat_ids and "runs/" in hostility.paths:
        # page 2 repeats the end of page 1, page 3 the end of page 2 that page 2 dropped
        assert summary.runs_repeated == 20
        assert "(20 repeated across pages)" in extract_summary(summary)
    for table, path in [("results", "results/"), ("scenarios", "scenarios/")]:
        want = requests.get(
            f"{proxy.mock.base_url}/test_framework/v1/{path}",
            params={"page_size": 1},
            headers={"X-CEKURA-API-KEY": KEY},
            timeout=10,
        ).json()["count"]
        assert summary.rows[table] == want, table
    assert elapsed < 60


@pytest.mark.parametrize(
    ("hostility", "words"),
    [
        (Hostility(count_delta=150), r"\(150 missing\)"),
        (Hostility(count_delta=1, repeat_ids=20), r"\(1 missing, 20 repeated across pages\)"),
    ],
    ids=["count-over-by-150", "count-over-by-1-and-ids-repeated"],
)
def test_a_window_that_stays_short_fails_loudly_and_stays_open(
    hostile_server: Any, tmp_path: Path, hostility: Hostility, words: str
) -> None:
    proxy = hostile_server()
    extract(tmp_path, base_url=proxy.base_url, quiet=True)  # an honest first window
    before = watermark(tmp_path)
    proxy.mock.data.add_runs(250)  # three pages of new runs
    proxy.hostility = hostility
    err, elapsed, _ = timed(lambda: extract(tmp_path, base_url=proxy.base_url, quiet=True))
    assert isinstance(err, IncompleteError), err
    message = str(err)
    assert re.search(r"count=\d+ but \d+ distinct ids arrived " + words, message), message
    assert "\n" not in message
    assert watermark(tmp_path) == before  # not advanced past the short window
    assert Store(tmp_path).state.in_progress is not None  # the next sync retries it
    assert elapsed < 60
    proxy.hostility = Hostility()  # the server behaves again: nothing was lost for good
    summary = extract(tmp_path, base_url=proxy.base_url, quiet=True)
    assert summary.resumed
    assert stored_ids(tmp_path) == mock_ids(proxy)
    assert str(watermark(tmp_path)) > str(before)


def test_the_first_sync_is_hostile_too(hostile_server: Any, tmp_path: Path) -> None:
    """Before any window completed there is no watermark to keep: the failure leaves none."""
    proxy = hostile_server(Hostility(count_delta=150))
    with pytest.raises(IncompleteError, match="count=450 but 300 distinct ids"):
        extract(tmp_path, base_url=proxy.base_url, quiet=True)
    assert watermark(tmp_path) is None
    proxy.hostility = Hostility()
    extract(tmp_path, base_url=proxy.base_url, quiet=True)
    assert stored_ids(tmp_path) == mock_ids(proxy)


# -- paging loops and lies about count: bounded requests, time and memory -----------------


@pytest.mark.parametrize(
    ("hostility", "error", "words"),
    [
        (Hostility(next_loop="self"), ResponseError, "points back to page"),
        (Hostility(next_loop="first"), ResponseError, "points back to page 1"),
        (Hostility(count_delta=10**12), IncompleteError, "count=1000000000300 but 300"),
    ],
    ids=["next-to-itself", "next-back-to-page-1", "count-10**12"],
)
def test_loops_and_huge_counts_end_fast_and_small(
    hostile_server: Any, tmp_path: Path, hostility: Hostility, error: type, words: str
) -> None:
    proxy = hostile_server(hostility)
    err, elapsed, rss = timed(lambda: extract(tmp_path, base_url=proxy.base_url, quiet=True))
    assert isinstance(err, error), err
    assert words in str(err) and "\n" not in str(err)
    assert elapsed < 30
    assert proxy.total < 120  # the old client made 4,127 requests a minute, without end
    assert rss < 150 * MB  # the old client grew to 1.3 GB (a loop) and 6.2 GB (10**12)
    # every page before the loop (or the shortfall) was fetched, and its runs are kept
    assert stored_ids(tmp_path) == mock_ids(proxy)


# -- the server's clock, not this machine's ------------------------------------------------


def test_a_clock_hours_ahead_loses_no_runs_and_a_fixed_clock_inverts_no_window(
    hostile_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = hostile_server()
    ahead = lambda: datetime.now(UTC) + timedelta(hours=2)  # noqa: E731
    with caplog.at_level(logging.WARNING, logger="cekura_analytics.lake.sync"):
        extract(tmp_path, base_url=proxy.base_url, quiet=True, now=ahead)
    assert any("2.0 h ahead of the server's" in r.getMessage() for r in caplog.records)
    proxy.mock.data.add_runs(5)
    extract(tmp_path, base_url=proxy.base_url, quiet=True, now=ahead)
    assert stored_ids(tmp_path) == mock_ids(proxy)  # the old client stored 0 of these 5
    proxy.mock.data.add_runs(5)
    summary = extract(tmp_path, base_url=proxy.base_url, quiet=True)  # clock fixed
    lower, upper = summary.window
    assert lower is not None and lower <= upper  # the old client ran 18:08 .. 17:08
    assert stored_ids(tmp_path) == mock_ids(proxy)
    server_now = datetime.now(UTC)
    mark = datetime.fromisoformat(str(watermark(tmp_path)).replace("Z", "+00:00"))
    assert mark <= server_now  # the newest run listed, never this machine's future


def test_a_watermark_left_in_the_future_is_pulled_back(
    hostile_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A data dir synced by an older version under a clock 2 h ahead: the stored watermark
    is in the server's future; runs made since are still fetched."""
    proxy = hostile_server()
    extract(tmp_path, base_url=proxy.base_url, quiet=True)
    future = datetime.now(UTC) + timedelta(hours=2)
    with open_writer(tmp_path) as store:
        store.state.scopes["all"]["watermark"] = future.isoformat().replace("+00:00", "Z")
        store.save_state()
    proxy.mock.data.add_runs(5)
    with caplog.at_level(logging.WARNING, logger="cekura_analytics.lake.sync"):
        summary = extract(tmp_path, base_url=proxy.base_url, quiet=True)
    assert any("after the server's clock" in r.getMessage() for r in caplog.records)
    lower, upper = summary.window
    assert lower is not None and lower <= upper
    assert summary.runs_fetched >= 5
    assert stored_ids(tmp_path) == mock_ids(proxy)
