"""The data directory: atomic commits, debris removal, upserts, compaction, locking."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from cekura_analytics import rows
from cekura_analytics.errors import StoreError
from cekura_analytics.store import Store


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


def test_upsert_replaces_older_rows_and_their_metrics(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        s.upsert_runs(*batch(range(1, 101)))
        s.upsert_runs(*batch(range(101, 201)))
        s.upsert_runs(*batch(range(90, 111), status="failed"))
        runs, metrics = s.read("runs"), s.read("run_metrics")
    assert runs.height == 200 and runs["run_id"].n_unique() == 200
    assert runs.filter(pl.col("status") == "failed")["run_id"].sort().to_list() == list(
        range(90, 111)
    )
    assert metrics.height == 400
    assert metrics.select(pl.struct("run_id", "metric_id").n_unique()).item() == 400


def test_compaction_keeps_every_row(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        for start in range(0, 4000, 100):
            s.upsert_runs(*batch(range(start, start + 100)))
        before = s.read("runs").sort("run_id")
        merged = s.compact(at=8, target_rows=1000)
        after = s.read("runs").sort("run_id")
        assert merged > 0
        assert len(s.state.run_batches) == 4
        assert s.row_counts() == {"runs": 4000, "run_metrics": 8000}
    assert before.equals(after)
    assert len(list((tmp_path / "runs").glob("*.parquet"))) == 4


def test_debris_of_a_crashed_writer_is_removed(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        s.upsert_runs(*batch(range(1, 11)))
    # what a writer killed between rename and state commit leaves behind
    (tmp_path / "runs" / "part-000099.parquet").write_bytes(b"half")
    (tmp_path / "runs" / ".part-000100.parquet.tmp").write_bytes(b"half")
    with Store(tmp_path, lock=True) as s:
        assert s.read("runs").height == 10
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["part-000001.parquet"]


def test_parts_without_state_are_never_deleted(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    batch(range(3))[0].write_parquet(tmp_path / "runs" / "part-000001.parquet")
    with pytest.raises(StoreError, match=r"no _state\.json"):
        Store(tmp_path, lock=True)
    assert (tmp_path / "runs" / "part-000001.parquet").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "_state.json").write_text("{not json"), "unreadable"),
        (lambda p: (p / "runs" / "part-000001.parquet").unlink(), "missing"),
    ],
    ids=["corrupt-state", "missing-part"],
)
def test_damaged_store_is_a_clear_error(tmp_path: Path, damage: object, message: str) -> None:
    with Store(tmp_path, lock=True) as s:
        s.upsert_runs(*batch(range(1, 11)))
    damage(tmp_path)  # type: ignore[operator]
    with pytest.raises(StoreError, match=message) as exc:
        Store(tmp_path, lock=True)
    assert "\n" not in str(exc.value)


def test_second_writer_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True), pytest.raises(StoreError, match="another"):
        Store(tmp_path, lock=True)


def test_state_is_json_and_describes_the_files(tmp_path: Path) -> None:
    with Store(tmp_path, lock=True) as s:
        s.upsert_runs(*batch(range(5, 15)), update={"pending_run_ids": [7]})
        s.replace_table("metrics", rows.frame("metrics", [{"metric_id": 1, "name": "Empathy"}]))
    state = json.loads((tmp_path / "_state.json").read_text())
    assert state["pending_run_ids"] == [7]
    assert state["run_batches"][0]["min_run_id"] == 5
    assert state["tables"]["metrics"]["rows"] == 1


def test_crash_during_first_commit_leaves_a_usable_directory(tmp_path: Path) -> None:
    s = Store(tmp_path, lock=True)
    s.write_part("runs", s._new_seq(), batch(range(3))[0])  # killed before the state commit
    s.close()
    with Store(tmp_path, lock=True) as again:
        assert again.read("runs").height == 0
    assert not list((tmp_path / "runs").glob("*.parquet"))
