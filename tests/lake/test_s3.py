"""The data dir on S3 (moto's S3 server on 127.0.0.1): extract, views, report, rerun, crash."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import MOCK_KEY
from deltalake import DeltaTable

from cekura_analytics import extract
from cekura_analytics.errors import ConfigError, StoreError
from cekura_analytics.lake.store import Store, storage_options
from cekura_analytics.lake.tables import KEYS, SCHEMAS
from cekura_analytics.present.document import report
from cekura_analytics.warehouse.connection import duckdb, query

KEY = MOCK_KEY  # the key the mock fixtures accept
BUCKET = "cekura-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    """moto's S3 server and the usual AWS environment variables pointing at it.

    The server runs in its own process: delta-rs holds the GIL in some calls, which would
    starve moto's ``ThreadedMotoServer`` running on a thread of this process.
    """
    pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    host, port = "127.0.0.1", _free_port()
    srv = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline and srv.poll() is None, "moto did not start"
            time.sleep(0.1)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket=BUCKET)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        srv.terminate()
        srv.wait(10)


def tables(uri: str) -> dict[str, pl.DataFrame]:
    store = Store(uri)
    return {t: store.read(t).sort(list(KEYS[t])) for t in SCHEMAS}


def test_extract_views_report_and_rerun_on_s3(
    s3_env: dict[str, str], make_mock_server: Any, tmp_path: Path
) -> None:
    srv = make_mock_server(runs=700, seed=8)
    uri = f"s3://{BUCKET}/team/data"
    local = tmp_path / "local"
    extract(local, base_url=srv.base_url, api_key=KEY, quiet=True)
    summary = extract(uri, base_url=srv.base_url, api_key=KEY, quiet=True)
    assert summary.data_dir == uri
    a, b = tables(str(local)), tables(uri)
    for t in SCHEMAS:
        assert a[t].equals(b[t]), t
    # a direct Delta read on S3 with the same options sees the same rows
    runs = pl.read_delta(f"{uri}/runs", storage_options=storage_options(uri))
    assert runs.height == a["runs"].height == runs["run_id"].n_unique()
    sql = "select metric_name, n_evaluated, n_passed from pass_rates_by_metric order by 1"
    assert query(uri, sql).equals(query(local, sql))
    page = report(uri, tmp_path / "r.html")
    assert "runs table version" in page.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="--out"):
        report(uri)
    with pytest.raises(ConfigError, match="local --data-dir"):
        duckdb(uri, tmp_path / "x.duckdb")
    again = extract(uri, base_url=srv.base_url, api_key=KEY, quiet=True)
    assert again.runs_fetched <= summary.runs_fetched // 10  # only unfinished runs again
    assert tables(uri)["runs"].height == a["runs"].height


def _pages_done(uri: str) -> int:
    try:
        return len((Store(uri).state.in_progress or {}).get("pages_done", []))
    except Exception:  # the table may not exist yet
        return 0


def test_kill_9_then_rerun_on_s3_equals_a_clean_run(
    s3_env: dict[str, str], make_mock_server: Any
) -> None:
    srv = make_mock_server(runs=4000, seed=9, latency_ms=30)
    clean, crashed = f"s3://{BUCKET}/clean", f"s3://{BUCKET}/crashed"
    extract(clean, base_url=srv.base_url, api_key=KEY, quiet=True)
    env = {**os.environ, **s3_env, "CEKURA_API_KEY": KEY}
    cmd = [sys.executable, "-m", "cekura_analytics", "extract", "--base-url", srv.base_url]
    proc = subprocess.Popen(
        [*cmd, "--data-dir", crashed, "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while _pages_done(crashed) < 2 and proc.poll() is None:
        assert time.monotonic() < deadline, "extract made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    summary = extract(crashed, base_url=srv.base_url, api_key=KEY, quiet=True)
    assert summary.resumed and summary.runs_fetched < 4000
    a, b = tables(clean), tables(crashed)
    for t in SCHEMAS:
        assert a[t].equals(b[t]), t
    log = DeltaTable(f"{crashed}/runs", storage_options=storage_options(crashed)).history()
    assert all(c["operation"] != "FSCK" for c in log)  # nothing needed repairing


def test_two_writers_on_s3_one_fails_clearly_and_nothing_is_duplicated(
    s3_env: dict[str, str],
) -> None:
    from test_store import batch

    uri = f"s3://{BUCKET}/concurrent"
    with Store(uri, lock=True) as first:
        first.upsert_runs(*batch(range(1, 11)))
    a, b = Store(uri, lock=True), Store(uri, lock=True)  # no local lock on object storage
    a.table("runs"), b.table("runs")  # both read the same version
    a.upsert_runs(*batch(range(5, 21), status="failed"))
    with pytest.raises(StoreError, match="another writer committed"):
        b.upsert_runs(*batch(range(8, 31)))
    runs, metrics = Store(uri).read("runs"), Store(uri).read("run_metrics")
    assert runs.height == runs["run_id"].n_unique() == 20
    assert metrics.select("run_id", "metric_id").is_duplicated().sum() == 0
