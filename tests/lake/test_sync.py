"""The extractor against the real mock server over HTTP: counts, incrementality, faults, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
import requests
from conftest import MOCK_KEY
from deltalake import DeltaTable

from cekura_analytics import extract
from cekura_analytics.errors import AuthError, CekuraError, ResponseError
from cekura_analytics.lake.store import Store
from cekura_analytics.lake.tables import KEYS, SCHEMAS

KEY = MOCK_KEY  # the key the mock fixtures accept
RUN_TABLES_AND_REFS = list(SCHEMAS)


def api_count(srv: Any, path: str, **params: Any) -> int:
    """The API's own count for a list endpoint (paginated or plain array)."""
    r = requests.get(
        f"{srv.base_url}/test_framework/v1/{path}",
        params={**params, "page_size": 1},
        headers={"X-CEKURA-API-KEY": KEY},
        timeout=10,
    )
    r.raise_for_status()
    body = r.json()
    return len(body) if isinstance(body, list) else int(body["count"])


def tables(data_dir: Path) -> dict[str, pl.DataFrame]:
    """Every table as committed (read by deltalake), sorted by its key (for equality checks)."""
    store = Store(data_dir)
    return {t: store.read(t).sort(list(KEYS[t])) for t in SCHEMAS}


def state(data_dir: Path) -> dict[str, Any]:
    """The committed sync state (from the runs table's Delta log)."""
    return Store(data_dir).state.__dict__


def control(srv: Any, action: str, **params: Any) -> None:
    """Drive the mock's control endpoints (``/_mock/...``)."""
    requests.post(f"{srv.base_url}/_mock/{action}", params=params, timeout=10).raise_for_status()


def runs_requests(stats: dict[str, Any]) -> int:
    """Requests to runs/ reads, on either API version."""
    runs = ("/test_framework/v1/runs/", "/test_framework/v2/runs/")
    return sum(n for p, n in stats["paths"].items() if p.startswith(runs))


def test_extract_matches_api_counts(mock_server: Any, tmp_path: Path, key_env: None) -> None:
    summary = extract(tmp_path, base_url=mock_server.base_url, quiet=True)
    got = tables(tmp_path)
    assert got["runs"].height == api_count(mock_server, "runs/")
    assert got["runs"]["run_id"].n_unique() == got["runs"].height
    for table, path in [
        ("scenarios", "scenarios/"),
        ("results", "results/"),
        ("agents", "aiagents/"),
        ("metrics", "metrics/"),
        ("personalities", "personalities/"),
    ]:
        assert got[table].height == api_count(mock_server, path), table
    # run_metrics: exactly the evaluated metrics of each run, as the detail endpoint gives them
    sample = got["runs"].sample(5, seed=1)["run_id"].to_list()
    for run_id in sample:
        detail = requests.get(
            f"{mock_server.base_url}/test_framework/v1/runs/{run_id}/",
            headers={"X-CEKURA-API-KEY": KEY},
            timeout=10,
        ).json()
        want = {x["id"] for x in (detail.get("evaluation") or {}).get("metrics", [])}
        have = set(got["run_metrics"].filter(pl.col("run_id") == run_id)["metric_id"].to_list())
        assert want <= have
    assert summary.rows["runs"] == got["runs"].height
    assert got["runs"]["timestamp"].dtype == pl.Datetime("us", "UTC")
    assert got["runs"]["transcript"].str.contains(r"^\[\d{1,2}:\d\d\] ").any()


def _read_polars(d: Path, t: str) -> pl.DataFrame:
    return pl.scan_delta(str(d / t)).collect()


def _read_duckdb(d: Path, t: str) -> pl.DataFrame:
    files = DeltaTable(str(d / t)).file_uris()  # the committed snapshot's files
    return duckdb.sql(
        "select * from read_parquet($f, union_by_name = true)", params={"f": files}
    ).pl()


def _read_deltalake(d: Path, t: str) -> pl.DataFrame:
    return pl.DataFrame(DeltaTable(str(d / t)).to_pyarrow_table())


@pytest.mark.parametrize("read", [_read_deltalake, _read_polars, _read_duckdb])
def test_every_reader_sees_the_api_rows_once(
    make_mock_server: Any, tmp_path: Path, key_env: None, read: Any
) -> None:
    srv = make_mock_server(runs=700, seed=4)
    extract(tmp_path, base_url=srv.base_url, quiet=True)
    control(srv, "runs/complete")  # the rerun fetches the unfinished runs again: upserts
    extract(tmp_path, base_url=srv.base_url, quiet=True)
    want = {"runs": "runs/", "scenarios": "scenarios/", "results": "results/"}
    want |= {"agents": "aiagents/", "metrics": "metrics/", "personalities": "personalities/"}
    clean = tables(tmp_path)
    for table in SCHEMAS:
        got = read(tmp_path, table)
        key = list(KEYS[table])
        assert got.select(key).is_duplicated().sum() == 0, table
        assert got.height == clean[table].height, table
        if table in want:
            assert got.height == api_count(srv, want[table]), table


def test_rerun_changes_nothing_and_asks_little(
    mock_server: Any, tmp_path: Path, key_env: None
) -> None:
    extract(tmp_path, base_url=mock_server.base_url, quiet=True)
    control(mock_server, "runs/complete")  # nothing new and nothing unfinished left
    extract(tmp_path, base_url=mock_server.base_url, quiet=True)
    before = tables(tmp_path)
    state_before = state(tmp_path)
    control(mock_server, "stats/reset")
    summary = extract(tmp_path, base_url=mock_server.base_url, quiet=True)
    after = tables(tmp_path)
    for t in SCHEMAS:
        assert before[t].equals(after[t]), t
    assert runs_requests(mock_server.stats()) <= 3
    assert summary.runs_fetched == 0
    state_after = state(tmp_path)
    assert state_after["scopes"]["all"]["watermark"] >= state_before["scopes"]["all"]["watermark"]


def test_incremental_sync_picks_up_new_and_finished_runs(
    mock_server: Any, tmp_path: Path, key_env: None
) -> None:
    extract(tmp_path, base_url=mock_server.base_url, quiet=True)
    first = tables(tmp_path)["runs"]
    unfinished = first.filter(
        ~pl.col("status").is_in(["completed", "failed", "timeout", "cancelled"])
    )
    control(mock_server, "runs/add", n=7)
    control(mock_server, "runs/complete")
    summary = extract(tmp_path, base_url=mock_server.base_url, quiet=True)
    runs = tables(tmp_path)["runs"]
    assert runs.height == first.height + 7 == api_count(mock_server, "runs/")
    assert runs["run_id"].n_unique() == runs.height
    if unfinished.height:
        refreshed = runs.filter(pl.col("run_id").is_in(unfinished["run_id"].implode()))
        assert set(refreshed["status"].to_list()) <= {"completed", "failed", "timeout", "cancelled"}
        assert summary.pending_left == 0


def test_filters_scope_the_sync(mock_server: Any, tmp_path: Path, key_env: None) -> None:
    agent_id = int(
        requests.get(
            f"{mock_server.base_url}/test_framework/v1/aiagents/",
            headers={"X-CEKURA-API-KEY": KEY},
            timeout=5,
        ).json()["results"][0]["id"]
    )
    extract(tmp_path, base_url=mock_server.base_url, agent_id=agent_id, quiet=True)
    runs = tables(tmp_path)["runs"]
    assert runs.height == api_count(mock_server, "runs/", agent_id=agent_id)
    assert runs["agent_id"].unique().to_list() == [agent_id]


def test_since_bounds_the_window(mock_server: Any, tmp_path: Path, key_env: None) -> None:
    all_runs = api_count(mock_server, "runs/")
    since = "2000-01-01"
    extract(tmp_path / "a", base_url=mock_server.base_url, since=since, quiet=True)
    assert tables(tmp_path / "a")["runs"].height == all_runs
    runs = tables(tmp_path / "a")["runs"]
    cut = runs["timestamp"].sort()[runs.height // 2]
    extract(tmp_path / "b", base_url=mock_server.base_url, since=cut.isoformat(), quiet=True)
    b = tables(tmp_path / "b")["runs"]
    assert b.height == runs.filter(pl.col("timestamp") >= cut).height
    assert b["timestamp"].min() >= cut


def test_wrong_key_is_one_clear_error_and_writes_nothing(
    mock_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEKURA_API_KEY", "wrong-key")
    with pytest.raises(AuthError) as err:
        extract(tmp_path, base_url=mock_server.base_url, quiet=True)
    assert "401" in str(err.value) and "\n" not in str(err.value)
    assert "wrong-key" not in str(err.value)
    assert not list(tmp_path.glob("*/*.parquet"))


@pytest.mark.parametrize(
    "faults",
    [
        {"fail_rate": 0.15},
        {"rate_limit_rps": 40},
        {"truncate_rate": 0.1},
        {"extra_fields": True},
    ],
    ids=["500s", "429s", "truncated-some", "schema-drift"],
)
def test_faults_do_not_change_the_data(
    make_mock_server: Any, tmp_path: Path, key_env: None, faults: dict[str, Any]
) -> None:
    clean = make_mock_server(runs=400, seed=3)
    extract(tmp_path / "clean", base_url=clean.base_url, quiet=True)
    faulty = make_mock_server(runs=400, seed=3, **faults)
    extract(tmp_path / "faulty", base_url=faulty.base_url, quiet=True, concurrency=4)
    stats = faulty.stats()
    a, b = tables(tmp_path / "clean"), tables(tmp_path / "faulty")
    for t in SCHEMAS:
        # drift adds fields to nested objects too: those land in the *_json columns
        cols = [c for c in SCHEMAS[t] if not c.endswith("_json")]
        assert a[t].select(cols).equals(b[t].select(cols)), t
    if faults.get("extra_fields"):
        assert b["runs"]["extra_json"].drop_nulls().len() == b["runs"].height
    else:
        assert stats["total"] > 0


def test_truncated_bodies_fail_cleanly_and_keep_committed_data(
    make_mock_server: Any, tmp_path: Path, key_env: None
) -> None:
    srv = make_mock_server(runs=1200, seed=5)
    extract(tmp_path, base_url=srv.base_url, quiet=True)
    before = tables(tmp_path)
    control(srv, "runs/add", n=30)
    srv.config.truncate_rate = 1.0
    srv.config.fault_paths = ["/test_framework/v1/runs/bulk/", "/test_framework/v2/runs/bulk/"]
    with pytest.raises(ResponseError) as err:
        extract(tmp_path, base_url=srv.base_url, quiet=True)
    assert "not valid JSON" in str(err.value)
    assert not list(tmp_path.glob("*/.*.tmp"))
    after = tables(tmp_path)
    for t in SCHEMAS:
        assert before[t].equals(after[t]), t
    srv.config.truncate_rate = 0.0
    extract(tmp_path, base_url=srv.base_url, quiet=True)
    assert tables(tmp_path)["runs"].height == before["runs"].height + 30


def test_page_drift_loses_and_duplicates_nothing(
    make_mock_server: Any, tmp_path: Path, key_env: None
) -> None:
    srv = make_mock_server(runs=1500, seed=2, arrivals_per_list=5)
    extract(tmp_path, base_url=srv.base_url, quiet=True)
    runs = tables(tmp_path)["runs"]
    assert runs["run_id"].n_unique() == runs.height
    assert runs.height >= 1500
    srv.config.arrivals_per_list = 0
    extract(tmp_path, base_url=srv.base_url, quiet=True)
    runs = tables(tmp_path)["runs"]
    assert runs["run_id"].n_unique() == runs.height == api_count(srv, "runs/")


def test_key_never_written(
    mock_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEKURA_API_KEY", KEY)
    extract(tmp_path, base_url=mock_server.base_url, quiet=True)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def _run_cli(base_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CEKURA_API_KEY": KEY}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cekura_analytics",
            "extract",
            "--base-url",
            base_url,
            "--data-dir",
            str(data_dir),
            "--quiet",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _pages_done(data_dir: Path) -> int:
    try:
        st = state(data_dir)
    except CekuraError:  # no table yet
        return 0
    return len((st.get("in_progress") or {}).get("pages_done", []))


def test_kill_9_then_rerun_equals_clean_run(
    make_mock_server: Any, tmp_path: Path, key_env: None
) -> None:
    srv = make_mock_server(runs=8000, seed=9, latency_ms=40)
    extract(tmp_path / "clean", base_url=srv.base_url, quiet=True)
    crashed = tmp_path / "crashed"
    # Kill at several moments, each after this process committed a batch of its own: right
    # after the commit, mid-batch, and in between.
    for extra_delay in [0.0, 0.13, 0.05]:
        before = _pages_done(crashed)
        proc = _run_cli(srv.base_url, crashed)
        deadline = time.monotonic() + 60
        while _pages_done(crashed) <= before and proc.poll() is None:
            assert time.monotonic() < deadline, "extract made no progress"
            time.sleep(0.01)
        time.sleep(extra_delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    committed = _pages_done(crashed)
    summary = extract(crashed, base_url=srv.base_url, quiet=True)
    assert summary.resumed
    assert summary.runs_fetched < 8000  # resumed from the last commit, not from zero
    assert committed >= 1
    a, b = tables(tmp_path / "clean"), tables(crashed)
    for t in SCHEMAS:
        assert a[t].equals(b[t]), t
    assert not list(crashed.glob("*/.*.tmp"))


# -- live shapes: API versions, eras, capped pages ------------------------------------------

RATES = "select metric_id, n_evaluated, n_passed, n_unknown from pass_rates_by_metric order by 1"


def _rates(data_dir: Path) -> pl.DataFrame:
    from cekura_analytics.warehouse.connection import connect

    con = connect(data_dir)
    try:
        return con.sql(RATES).pl()
    finally:
        con.close()


def test_v1_and_v2_give_the_same_pass_rates(
    mock_server: Any, tmp_path: Path, key_env: None
) -> None:
    """v2 sends canonical binary items after July 2026, v1 the legacy 0/5 form: same verdicts."""
    url = mock_server.base_url
    s2 = extract(tmp_path / "v2", base_url=url, quiet=True, api_version="v2")
    s1 = extract(tmp_path / "v1", base_url=url, quiet=True, api_version="v1")
    assert (s2.api_version, s1.api_version) == ("v2", "v1")
    assert s1.rows == s2.rows
    v1, v2 = _rates(tmp_path / "v1"), _rates(tmp_path / "v2")
    assert v1.equals(v2)
    store = Store(tmp_path / "v2")
    rm = store.read("run_metrics")
    binary = rm.filter(pl.col("eval_type") == "binary")
    # both eras are in the v2 data: the item's own passed, and legacy 0/5 scores
    assert binary["metric_passed"].is_not_null().any()
    assert binary.filter(pl.col("metric_passed").is_null())["score"].max() == 5
    assert "binary_workflow_adherence" in set(
        Store(tmp_path / "v1").read("run_metrics")["metric_type"]
    )
    con_rates = _rates(tmp_path / "v2")
    binary_ids = set(binary["metric_id"])
    unknown = con_rates.filter(pl.col("metric_id").is_in(binary_ids))["n_unknown"].sum()
    assert unknown == 0  # every binary result has a verdict, in both eras


def test_auto_falls_back_to_v1_once_and_remembers(
    make_mock_server: Any, tmp_path: Path, key_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    srv = make_mock_server(v2_reads=False)
    with caplog.at_level("WARNING", logger="cekura_analytics.api.client"):
        first = extract(tmp_path, base_url=srv.base_url, quiet=True)
    assert first.api_version == "v1"
    assert sum("no v2 reads" in r.getMessage() for r in caplog.records) == 1
    assert first.rows["runs"] == api_count(srv, "runs/")
    srv.reset_stats()
    second = extract(tmp_path, base_url=srv.base_url, quiet=True)
    assert second.api_version == "v1"
    assert not any("/v2/" in p for p in srv.stats()["paths"])  # remembered: v2 not asked again


def test_insisting_on_v2_against_a_v1_server_is_one_clear_error(
    make_mock_server: Any, tmp_path: Path, key_env: None
) -> None:
    from cekura_analytics.errors import NotFoundError

    srv = make_mock_server(v2_reads=False)
    with pytest.raises(NotFoundError, match="404"):
        extract(tmp_path, base_url=srv.base_url, quiet=True, api_version="v2")


@pytest.mark.parametrize("cap", [7, 30, 100])
def test_a_capped_page_size_loses_nothing(
    make_mock_server: Any, tmp_path: Path, key_env: None, cap: int
) -> None:
    """The server sends fewer rows than the page_size asked for: every run still arrives."""
    srv = make_mock_server(max_page_size=cap, runs=300)
    summary = extract(tmp_path, base_url=srv.base_url, quiet=True, page_size=500)
    runs = Store(tmp_path).read("runs")
    assert runs.height == runs["run_id"].n_unique() == api_count(srv, "runs/")
    assert summary.rows["results"] == api_count(srv, "results/")


@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_every_decided_verdict_is_the_mocks_truth(
    mock_server: Any, tmp_path: Path, key_env: None, api_version: str
) -> None:
    """Against the mock's own ground truth: what the views decide is what the run did, and
    every binary result is decided (legacy 0/5 items, canonical items, rubric rules alike)."""
    from cekura_analytics.mock import catalog as C
    from cekura_analytics.warehouse.connection import connect

    extract(tmp_path, base_url=mock_server.base_url, quiet=True, api_version=api_version)
    con = connect(tmp_path)
    try:
        got = con.sql("select run_id, metric_id, eval_type, passed from metric_results").pl()
    finally:
        con.close()
    data = mock_server.state.data
    truth = {
        (row["id"], C.METRICS[mi].id): ok
        for row in data.rows(got["run_id"].unique().to_list())
        for mi, ok in data.passed_metrics(row).items()
    }
    decided = got.filter(pl.col("passed").is_not_null())
    assert decided.height > 0.8 * got.height  # the rest: numeric metrics with no rule given
    wrong = [
        (r, m, p)
        for r, m, p in decided.select("run_id", "metric_id", "passed").iter_rows()
        if truth.get((r, m)) is not p
    ]
    assert wrong == []
    assert got.filter(pl.col("eval_type") == "binary")["passed"].null_count() == 0


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
@pytest.mark.parametrize("table", ["runs", "run_metrics"])
def test_repair_fetches_the_runs_of_a_damaged_file_again(
    make_mock_server: Any, tmp_path: Path, key_env: None, table: str, damage: str
) -> None:
    srv = make_mock_server(runs=1200, seed=6)
    extract(tmp_path, base_url=srv.base_url, quiet=True)
    control(srv, "runs/complete")
    extract(tmp_path, base_url=srv.base_url, quiet=True)
    clean = tables(tmp_path)
    victim = sorted(DeltaTable(str(tmp_path / table)).file_uris())[0]
    lost = pl.read_parquet(victim)["run_id"].n_unique()
    if damage == "truncated":
        Path(victim).write_bytes(b"bit rot")
    else:
        Path(victim).unlink()
    with pytest.raises(CekuraError) as err:  # a plain read names the table and the file
        Store(tmp_path).read(table)
    msg = str(err.value)
    assert msg.startswith(f"{table}: data file {Path(victim).name}") and "\n" not in msg
    assert "extract --repair" in msg
    assert ("missing although the table lists it" in msg) is (damage == "deleted")
    summary = extract(tmp_path, base_url=srv.base_url, quiet=True, repair=True)
    assert summary.runs_repaired >= lost
    repaired = tables(tmp_path)
    for t in SCHEMAS:
        assert repaired[t].equals(clean[t]), t
    kept = (tmp_path / "_damaged" / table / Path(victim).name).exists()
    assert kept is (damage == "truncated")  # a damaged file is kept as evidence
