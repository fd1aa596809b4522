"""Upkeep of the Delta tables: optimize (compact + vacuum), damaged files, the old layout.

Damaged files: a data file that cannot be read is reported in one line naming the table and
the file (:func:`unreadable`). ``extract --repair`` (:func:`drop_damaged`) moves such files
out of the table (locally to ``D/_damaged/<table>/``, on object storage they are deleted),
removes them from the Delta log (FSCK), and returns what they held, taken from the file
statistics in the Delta log: the run_id range and, for ``runs``, the timestamp range. The
extractor fetches those runs again (listing the timestamp window, then by id), so the table
is whole again; reference tables are replaced by the same sync anyway.

The old layout (``D/<table>/part-NNNNNN.parquet`` listed by ``D/_state.json``) is converted on
the first open for writing (extract, improve, optimize): each table's listed parts become one
Delta commit, the state moves into the Delta log, and the old files are kept in
``D/_pre_delta/`` (delete it once satisfied). Readers refuse it with the command to run.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from .errors import StoreError, first_line
from .tables import IMPROVE_JOBS, SCHEMAS

if TYPE_CHECKING:
    from .store import Store

OLD_STATE = "_state.json"
OLD_BACKUP = "_pre_delta"
DAMAGED = "_damaged"
ALL_TABLES = (*SCHEMAS, "improve_jobs")


def damaged_files(store: Store, table: str) -> dict[str, str]:
    """Data files of ``table`` that cannot be read, with the reason (reads every file)."""
    dt = store.table(table)
    if dt is None:
        return {}
    bad: dict[str, str] = {}
    for frag in dt.to_pyarrow_dataset().get_fragments():
        try:
            frag.to_table()
        except (OSError, pa.ArrowException) as exc:
            bad[frag.path] = first_line(exc)
    return bad


def unreadable(store: Store, table: str, exc: BaseException) -> StoreError:
    """One line naming the damaged file of ``table`` (found by reading each file)."""
    bad = damaged_files(store, table)
    if not bad:
        return StoreError(f"{table}: cannot be read ({first_line(exc)})")
    path, why = next(iter(bad.items()))
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return StoreError(
        f"{table}: data file {path}{more} cannot be read ({why}); run `cekura-analytics "
        f"extract --repair --data-dir {store.uri}` to fetch its runs again"
    )


@dataclass
class Damage:
    """What ``--repair`` removed and what it must fetch again."""

    files: dict[str, list[str]] = field(default_factory=dict)  # table -> file paths
    run_ranges: list[tuple[int, int]] = field(default_factory=list)  # run_id lo, hi
    time_ranges: list[tuple[datetime, datetime]] = field(default_factory=list)  # runs files

    def __bool__(self) -> bool:
        return bool(self.files)


def drop_damaged(store: Store) -> Damage:
    """Take every unreadable file out of its table (one FSCK commit per table)."""
    out = Damage()
    for table in ALL_TABLES:
        bad = damaged_files(store, table)
        dt = store.table(table)
        if not bad or dt is None:
            continue
        stats = add_actions(dt).filter(pl.col("path").is_in(list(bad)))
        for r in stats.iter_rows(named=True):
            if r.get("min.run_id") is not None:
                out.run_ranges.append((int(r["min.run_id"]), int(r["max.run_id"])))
            if table == "runs" and r.get("min.timestamp") is not None:
                out.time_ranges.append((r["min.timestamp"], r["max.timestamp"]))
        fs = dt.to_pyarrow_dataset().filesystem
        for path in bad:
            if store.remote:
                fs.delete_file(path)
            else:
                target = Path(store.uri) / DAMAGED / table / path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(Path(store.uri) / table / path), target)
        dt.repair(dry_run=False)
        out.files[table] = sorted(bad)
    return out


def add_actions(dt: Any) -> pl.DataFrame:
    """One row per data file of the snapshot: path, size, row count, min/max statistics."""
    return pl.DataFrame(dt.get_add_actions(flatten=True))


# -- the old layout ----------------------------------------------------------------------
def convert_old_layout(store: Store, *, write: bool) -> bool:
    """Convert ``part-*.parquet`` + ``_state.json`` into Delta tables; True if it did."""
    if store.remote:
        return False
    root = Path(store.uri)
    old = root / OLD_STATE
    if not old.exists():
        return False
    if not write:
        raise StoreError(
            f"{root} holds the old parquet layout: convert it to Delta tables once with "
            f"`cekura-analytics optimize --data-dir {root}` (nothing is lost)"
        )
    try:
        state = json.loads(old.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise StoreError(f"{old} is unreadable ({first_line(exc)}); use a new --data-dir") from None
    listed: dict[str, list[str]] = {}
    for b in state.get("run_batches", []):
        for t in ("runs", "run_metrics"):
            listed.setdefault(t, []).append(f"part-{b['seq']:06d}.parquet")
    for name, info in state.get("tables", {}).items():
        listed.setdefault(name, []).append(f"part-{info['seq']:06d}.parquet")
    for table, files in listed.items():
        schema = SCHEMAS.get(table) or (IMPROVE_JOBS if table == "improve_jobs" else None)
        frames = [pl.read_parquet(root / table / f) for f in files]
        df = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
        if schema:  # columns the old files lack come in as nulls, in the contract's order
            df = df.with_columns(pl.lit(None, t).alias(c) for c, t in schema.items() if c not in df)
            df = df.select([*schema, *(c for c in df.columns if c not in schema)])
            df = df.cast({c: t for c, t in schema.items()})
        store.replace_table(table, df)
    for key in ("scopes", "pending_run_ids", "in_progress", "last_sync"):
        if state.get(key) is not None:
            setattr(store.state, key, state[key])
    store.save_state()
    # the state moves last: its absence marks the conversion as done
    backup = root / OLD_BACKUP
    backup.mkdir(exist_ok=True)
    for part in root.glob("*/part-[0-9][0-9][0-9][0-9][0-9][0-9].parquet"):  # listed or debris
        (backup / part.parent.name).mkdir(exist_ok=True)
        part.replace(backup / part.parent.name / part.name)
    old.replace(backup / OLD_STATE)
    return True
