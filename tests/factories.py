"""Small hand-made data dirs in the extractor's layout, for the view tests.

``write_tables(d, runs=[...], run_metrics=[...], ...)`` appends each table's rows as one
Delta commit to ``d/<table>/`` with exactly the columns and types of
:mod:`cekura_analytics.lake.tables` (missing columns are null), like the extractor does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from deltalake import write_deltalake

from cekura_analytics.lake.tables import SCHEMAS, normalize_eval_type

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """``rows`` as a frame with the table's exact schema, ``eval_type`` normalised as the
    extractor stores it (from the item's ``eval_type``, else its ``metric_type``)."""
    schema = SCHEMAS[table]
    if table in ("run_metrics", "metrics"):
        raw = "metric_type" if table == "run_metrics" else "eval_type"
        rows = [
            r | {"eval_type": normalize_eval_type(r.get("eval_type") or r.get(raw))} for r in rows
        ]
    unknown = {k for r in rows for k in r} - set(schema)
    assert not unknown, f"{table} has no columns {unknown}"
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in schema}, schema=schema, strict=False)


def write_part(data_dir: Path, table: str, rows: list[dict[str, Any]]) -> Path:
    """Append ``rows`` to the Delta table ``<table>/`` as one commit (zero rows allowed)."""
    path = data_dir / table
    path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(str(path), frame(table, rows).to_arrow(), mode="append")
    return path


def write_tables(data_dir: Path, **tables: list[dict[str, Any]]) -> Path:
    """Append every given table's rows as one commit each; returns ``data_dir``."""
    for table, rows in tables.items():
        write_part(data_dir, table, rows)
    return data_dir


def run(run_id: int, **kw: Any) -> dict[str, Any]:
    """A completed, successful ``runs`` row; keywords override."""
    row: dict[str, Any] = {
        "run_id": run_id,
        "result_id": 1,
        "scenario_id": 1,
        "personality_id": 1,
        "agent_id": 1,
        "agent_version": "1",
        "status": "completed",
        "success": True,
        "duration_s": 100,
        "timestamp": T0 + timedelta(minutes=run_id),
    }
    row.update(kw)
    return row


def result(run_id: int, metric_id: int, **kw: Any) -> dict[str, Any]:
    """A ``run_metrics`` row; keywords override."""
    row: dict[str, Any] = {"run_id": run_id, "metric_id": metric_id}
    row.update(kw)
    return row


def read(data_dir: Path, table: str) -> pl.DataFrame:
    """A table as committed."""
    if not (data_dir / table / "_delta_log").is_dir():
        return pl.DataFrame(schema=SCHEMAS[table])
    return pl.read_delta(str(data_dir / table))
