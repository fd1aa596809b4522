"""The data directory on Delta Lake: upserts, state in the log, locking, compaction, upkeep."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from cekura_analytics.errors import ConfigError, StoreError
from cekura_analytics.lake import rows
from cekura_analytics.lake.maintenance import open_writer, optimize, refuse_old_layout
from cekura_analytics.lake.store import STATE_KEY, Store
from cekura_analytics.lake.tables import SCHEMAS


def batch(ids: range, status: str = "completed") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Runs with ids and two metric rows each."""
    ts = datetime(2026, 5, 1, tzinfo=UTC)
    runs = rows.frame(
        "runs", [{"run_id": i, "status": status, "timestamp": ts, "success": True} for i in ids]
    )
    metrics = rows.frame(
        "run_metrics",
        [{"run_id": i, "metric_id": m, "score": float(i % 5)} for i in ids for m in (1, 2)],
    )
    return runs, metrics


def n_files(d: Path, table: str) -> int:
    return len(DeltaTable(str(d / table)).file_uris())


def test_upsert_replaces_older_rows_and_their_metrics(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        s.upsert_runs(*batch(range(1, 101)))
        s.upsert_runs(*batch(range(101, 201)))
        runs, metrics = batch(range(90, 111), status="failed")
        # a re-fetched run may come back with fewer metric rows: the old ones go
        s.upsert_runs(runs, metrics.filter(pl.col("metric_id") == 1))
        runs, metrics = s.read("runs"), s.read("run_metrics")
        assert s.row_counts() == {"runs": 200, "run_metrics": 400 - 21}
    assert runs.height == 200 and runs["run_id"].n_unique() == 200
    assert runs.filter(pl.col("status") == "failed")["run_id"].sort().to_list() == list(
        range(90, 111)
    )
    assert metrics.height == 400 - 21
    assert metrics.select(pl.struct("run_id", "metric_id").n_unique()).item() == 400 - 21
    assert pl.read_delta(str(tmp_path / "runs")).height == 200  # any Delta reader agrees


def test_state_is_committed_with_the_data_it_describes(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        s.upsert_runs(*batch(range(5, 15)), update={"pending_run_ids": [7]})
        s.upsert_runs(*batch(range(7, 8)), update={"pending_run_ids": []})
        version = s.version("runs")
    new, again = DeltaTable(str(tmp_path / "runs")).history(2)
    # runs known to be new are appended; a run fetched again is MERGEd
    assert (again["operation"], new["operation"]) == ("WRITE", "MERGE")
    assert new["version"] == version and json.loads(new[STATE_KEY])["pending_run_ids"] == []
    assert json.loads(again[STATE_KEY])["pending_run_ids"] == [7]
    assert Store(tmp_path).state.pending_run_ids == []


def test_stored_run_ids_are_the_finished_ones(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        s.upsert_runs(*batch(range(1, 11)))
        s.upsert_runs(*batch(range(11, 21), status="running"))
        assert s.stored_run_ids(range(5, 30)) == set(range(5, 11))
        assert s.stored_run_ids([]) == set()


def test_compaction_keeps_every_row_and_old_versions(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        for start in range(0, 4000, 100):
            s.upsert_runs(*batch(range(start, start + 100)))
        before = s.read("runs").sort("run_id")
        version = s.version("runs")
        assert s.compact(at=100) == 0  # below the threshold: nothing to do
        merged = s.compact(at=8)
        after = s.read("runs").sort("run_id")
        assert merged > 0
        assert s.row_counts() == {"runs": 4000, "run_metrics": 8000}
        assert s.state.to_json() == Store(tmp_path).state.to_json()  # compaction kept it
    assert before.equals(after)
    assert n_files(tmp_path, "runs") == 1 and n_files(tmp_path, "run_metrics") == 1
    old = pl.read_delta(str(tmp_path / "runs"), version=version)
    assert old.sort("run_id").equals(before)


def test_optimize_vacuums_what_no_version_needs(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        for start in range(0, 1000, 100):
            s.upsert_runs(*batch(range(start, start + 100)))
        before = s.read("run_metrics").sort("run_id", "metric_id")
    summary = optimize(tmp_path, retain_days=0)
    assert summary.files_merged["runs"] == 10 and summary.files_deleted["runs"] >= 10
    assert len(list((tmp_path / "runs").glob("*.parquet"))) == 1  # only the compacted file
    assert Store(tmp_path).read("run_metrics").sort("run_id", "metric_id").equals(before)
    assert "runs" in str(summary)
    with pytest.raises(ConfigError, match="retain-days"):
        optimize(tmp_path, retain_days=-1)


def test_second_writer_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True), pytest.raises(StoreError, match="another"):
        Store(tmp_path, lock=True)


def test_replace_table_takes_any_table_and_its_frame_schema(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        s.replace_table("release_gates", pl.DataFrame({"gate": ["a"], "ok": [True]}))
        s.replace_table("release_gates", pl.DataFrame({"gate": ["b", "c"], "n": [1, 2]}))
        assert s.read("release_gates").rows() == [("b", 1), ("c", 2)]


def test_unreadable_sync_state_is_one_line(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        s.state.format = 99
        s.save_state()
    with pytest.raises(StoreError, match="sync state") as err:
        Store(tmp_path)
    assert "\n" not in str(err.value)


def _old_layout(d: Path) -> None:
    """A data dir as the previous version wrote it (parts + _state.json)."""
    runs, metrics = batch(range(1, 6))
    (d / "runs").mkdir(parents=True)
    (d / "run_metrics").mkdir()
    (d / "metrics").mkdir()
    runs.write_parquet(d / "runs" / "part-000001.parquet")
    metrics.write_parquet(d / "run_metrics" / "part-000001.parquet")
    runs.drop("extra_json").write_parquet(d / "runs" / "part-000003.parquet")  # unlisted debris
    rows.frame("metrics", [{"metric_id": 1, "name": "Empathy"}]).write_parquet(
        d / "metrics" / "part-000002.parquet"
    )
    state = {
        "format": 1,
        "next_seq": 4,
        "run_batches": [{"seq": 1, "rows": 5, "metric_rows": 10, "min_run_id": 1, "max_run_id": 5}],
        "tables": {"metrics": {"seq": 2, "rows": 1}},
        "scopes": {"all": {"watermark": "2026-05-01T00:00:00Z"}},
        "pending_run_ids": [3],
        "in_progress": None,
        "last_sync": {"finished_at": "2026-05-01T00:00:01Z"},
    }
    (d / "_state.json").write_text(json.dumps(state))


def test_the_old_layout_is_converted_by_a_writer_only(tmp_path: Path) -> None:
    _old_layout(tmp_path)
    with pytest.raises(StoreError, match=r"old parquet layout.*cekura-analytics optimize"):
        refuse_old_layout(tmp_path)  # what readers (the views) say
    with Store(tmp_path, lock=True) as s:  # opening a store converts nothing
        assert s.row_counts() == {}
    assert (tmp_path / "_state.json").exists()
    with open_writer(tmp_path) as s:  # every writing command opens the data dir so
        assert s.row_counts() == {"runs": 5, "run_metrics": 10, "metrics": 1}
        assert s.state.scopes == {"all": {"watermark": "2026-05-01T00:00:00Z"}}
        assert s.state.pending_run_ids == [3]
    assert not (tmp_path / "_state.json").exists()
    assert (tmp_path / "_pre_delta" / "_state.json").exists()  # kept: nothing is lost
    assert (tmp_path / "_pre_delta" / "runs" / "part-000001.parquet").exists()
    assert not list(tmp_path.glob("runs/part-00000?.parquet"))  # debris moved away too
    assert Store(tmp_path).read("runs").equals(batch(range(1, 6))[0])


def test_a_crash_between_the_two_commits_is_repaired_by_redoing_the_batch(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        s.upsert_runs(*batch(range(1, 11)))
    runs, metrics = batch(range(11, 21))
    with Store(tmp_path, lock=True) as s:  # killed after the run_metrics commit
        s._write(s._ensure("run_metrics", {}), metrics.to_arrow(), mode="append")
    with Store(tmp_path, lock=True) as s:  # the rerun commits the same batch again
        s.upsert_runs(runs, metrics)
        got = s.read("run_metrics")
    assert got.height == 40 and not got.select("run_id", "metric_id").is_duplicated().any()


def test_a_column_added_to_the_contract_is_added_to_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path, lock=True) as s:
        s.upsert_runs(*batch(range(1, 6)))
    # a later release adds a column to both run tables (in place: every module sees it)
    monkeypatch.setitem(SCHEMAS["runs"], "x_added_id", pl.Int64)
    monkeypatch.setitem(SCHEMAS["run_metrics"], "x_added_kind", pl.String)
    with Store(tmp_path, lock=True) as s:
        runs, metrics = batch(range(4, 9))  # 4-5 merged, 6-8 new
        s.upsert_runs(
            runs.with_columns(x_added_id=pl.lit(7)),
            metrics.with_columns(x_added_kind=pl.lit("binary")),
        )
        got = s.read("run_metrics").sort("run_id", "metric_id")
        stored = s.read("runs").sort("run_id")
    assert stored["x_added_id"].to_list() == [None] * 3 + [7] * 5  # merged with the schema
    assert got.columns[-1] == "x_added_kind" and got.height == 16
    assert got.filter(pl.col("run_id") <= 3)["x_added_kind"].is_null().all()
    assert (got.filter(pl.col("run_id") >= 4)["x_added_kind"] == "binary").all()
