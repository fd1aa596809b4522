"""Rows built in a worker process are the rows built here, and the rows the extractor
wrote before it had a worker (one ``rows.run_frames`` over every run, the old oracle)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests
from conftest import MOCK_KEY

from cekura_analytics import extract
from cekura_analytics.api import models as m
from cekura_analytics.lake import build, rows
from cekura_analytics.lake.store import Store
from cekura_analytics.lake.tables import KEYS


def all_runs(base_url: str) -> list[dict[str, Any]]:
    """Every full run of the mock, straight off its v2 endpoints (no code under test)."""
    s = requests.Session()
    s.headers["X-CEKURA-API-KEY"] = MOCK_KEY
    ids: list[int] = []
    url: str | None = f"{base_url}/test_framework/v2/runs/?page_size=100"
    while url:
        body = s.get(url, timeout=10).json()
        ids += [r["id"] for r in body["results"]]
        url = body["next"]
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 100):
        batch = ",".join(map(str, ids[i : i + 100]))
        out += s.get(
            f"{base_url}/test_framework/v2/runs/bulk/", params={"run_ids": batch}, timeout=10
        ).json()
    return out


def stored(data_dir: Path, table: str) -> pl.DataFrame:
    return Store(data_dir).read(table).sort(list(KEYS[table]))


@pytest.mark.parametrize("worker", [True, False], ids=["worker process", "in process"])
def test_tables_are_the_rows_of_the_old_builder(
    make_mock_server: Any,
    tmp_path: Path,
    key_env: None,
    monkeypatch: pytest.MonkeyPatch,
    worker: bool,
) -> None:
    srv = make_mock_server(runs=450, seed=11, extra_fields=True)
    monkeypatch.setattr(build, "PROCESS_MIN_RUNS", 0 if worker else 10**9)
    started: list[bool] = []
    real = build.Builder.bodies

    def spy(self: build.Builder, bodies: list[bytes], what: str) -> build.Built:
        started.append(True)
        return real(self, bodies, what)

    monkeypatch.setattr(build.Builder, "bodies", spy)
    extract(tmp_path, base_url=srv.base_url, quiet=True, commit_runs=200)
    assert bool(started) is worker
    raw = all_runs(srv.base_url)
    runs = m.parse_items(m.Run, raw, what="oracle", shapes=m.ShapeLog())
    want_runs, want_metrics = rows.run_frames(runs)
    for table, want in (("runs", want_runs), ("run_metrics", want_metrics)):
        got = stored(tmp_path, table)
        want = want.sort(list(KEYS[table]))
        assert got.height == want.height > 400
        assert got.schema == want.schema, table
        assert got.equals(want), table


def test_the_worker_returns_what_building_here_returns(caplog: pytest.LogCaptureFixture) -> None:
    good = {"id": 1, "status": "completed", "timestamp": "2025-01-02T03:04:05Z",
            "evaluation": {"metrics": [{"id": 7, "name": "Greeting", "score": 1}]}}  # fmt: skip
    odd = {"id": 2, "status": "running", "success": "maybe", "duration": "01:05",
           "evaluation": {"metrics": [{"id": 7, "score": "high"}]}}  # fmt: skip
    bodies = [json.dumps([good]).encode(), json.dumps([odd]).encode()]
    here = build.build_runs([good, odd], "GET /runs/bulk/")
    worker = build.Builder()
    try:
        there = worker.bodies(bodies, "GET /runs/bulk/")
        with pytest.raises(build.NotAnArray):
            worker.bodies([b'{"detail": "not a list"}'], "GET /runs/bulk/")
        with pytest.raises(build.NotAnArray):
            worker.bodies([b"[{truncated"], "GET /runs/bulk/")
    finally:
        worker.close()
    assert there.runs.equals(here.runs) and there.run_metrics.equals(here.run_metrics)
    assert there.runs_seen == here.runs_seen == [(1, "completed"), (2, "running")]
    # the odd values were set aside, and the notes come back for the sync's one warning
    assert sorted((f, v) for _, f, v in there.notes) == [
        ("evaluation.metrics.score", "high"),
        ("success", "maybe"),
    ]
    assert there.notes == here.notes
    assert json.loads(there.runs["extra_json"][1])["_raw"]["success"] == "maybe"
    shapes = m.ShapeLog()
    with caplog.at_level(logging.WARNING, logger="cekura_analytics.shapes"):
        for what, name, value in there.notes + there.notes:
            shapes.note(what, name, value)
    assert len(caplog.records) == 2  # once per field, however many values
