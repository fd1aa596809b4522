"""Upkeep of the Delta tables: optimize (compact + vacuum), damaged files, the old layout.

Damaged files: a data file that cannot be read is reported in one line naming the table and
the file (:func:`unreadable`). ``extract --repair`` (:func:`drop_damaged`) moves such files
out of the table (locally to ``D/_damaged/<table>/``, on object storage they are deleted),
removes them from the Delta log (FSCK), and returns what they held, taken from the file
statistics in the Delta log: the run_id range and, for ``runs``, the timestamp range. The
extractor fetches those runs again (listing the timestamp window, then by id), so the table
is whole again; reference tables are replaced by the same sync anyway.

The old layout (``D/<table>/part-NNNNNN.parquet`` listed by ``D/_state.json``) is converted by
:func:`open_writer`, which every writing command opens the data dir with (extract, improve,
optimize, failure-modes): each table's listed parts become one Delta commit, the state moves
into the Delta log, and the old files are kept in ``D/_pre_delta/`` (delete it once
satisfied). Readers refuse it with the command to run (:func:`refuse_old_layout`); opening a
:class:`~.store.Store` never converts anything.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
from deltalake.exceptions import DeltaError

from ..defaults import RETAIN_DAYS
from ..errors import ConfigError, StoreError, first_line
from .store import OLD_STATE, TARGET_FILE, Store, add_actions, damaged_files, is_remote
from .tables import TABLES

OLD_BACKUP = "_pre_delta"
DAMAGED = "_damaged"


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
    for table in TABLES:
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
            # a deleted file is damage too: nothing to move, the log entry goes below
            if store.remote:
                with contextlib.suppress(FileNotFoundError):
                    fs.delete_file(path)
                continue
            source = Path(store.uri) / table / path
            if source.exists():
                target = Path(store.uri) / DAMAGED / table / path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), target)
        with store.writing(table):
            dt.repair(dry_run=False)
        out.files[table] = sorted(bad)
    return out


# -- the old layout ----------------------------------------------------------------------
@contextlib.contextmanager
def open_writer(data_dir: str | Path) -> Iterator[Store]:
    """The data dir opened for writing (its lock held), the old layout converted first:
    every command that writes (extract, optimize, improve, failure-modes) opens it so."""
    with Store(data_dir, lock=True) as store:
        if convert_old_layout(store):
            store.reload_state()
        yield store


def refuse_old_layout(data_dir: str | Path) -> None:
    """Readers cannot read the old layout: say how to convert it (a writer does it)."""
    if not is_remote(data_dir) and (Path(data_dir).expanduser() / OLD_STATE).exists():
        raise StoreError(
            f"{data_dir} holds the old parquet layout: convert it to Delta tables once with "
            f"`cekura-analytics optimize --data-dir {data_dir}` (nothing is lost)"
        )


def convert_old_layout(store: Store) -> bool:
    """Convert ``part-*.parquet`` + ``_state.json`` into Delta tables; True if it did."""
    if store.remote:
        return False
    root = Path(store.uri)
    old = root / OLD_STATE
    if not old.exists():
        return False
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
        schema = TABLES[table].schema if table in TABLES else None
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


# -- optimize: compact every table into large files and vacuum what no version needs -------
@dataclass
class OptimizeSummary:
    """What ``optimize`` did per table."""

    data_dir: str
    files_merged: dict[str, int] = field(default_factory=dict)
    files_deleted: dict[str, int] = field(default_factory=dict)


def optimize(data_dir: str | Path, *, retain_days: float = RETAIN_DAYS) -> OptimizeSummary:
    """Compact every table and vacuum files older versions no longer need after
    ``retain_days`` (time travel before that is then impossible)."""
    if retain_days < 0:
        raise ConfigError(f"--retain-days {retain_days}: give 0 or more days")
    if not is_remote(data_dir) and not Path(data_dir).expanduser().is_dir():
        # a typo must not create an empty dir and report it optimized
        raise ConfigError(f"data dir {data_dir} does not exist: check --data-dir")
    with open_writer(data_dir) as store:
        out = OptimizeSummary(store.uri)
        for table in TABLES:
            dt = store.table(table)
            if dt is None:
                continue
            props = store.state_properties() if table == "runs" else None
            try:
                with store.writing(table):
                    got = dt.optimize.compact(target_size=TARGET_FILE, commit_properties=props)
                    gone = dt.vacuum(
                        retention_hours=round(retain_days * 24),
                        dry_run=False,
                        enforce_retention_duration=False,
                        commit_properties=props,
                    )
            except DeltaError as exc:
                raise StoreError(f"{table}: optimize failed: {first_line(exc)}") from None
            out.files_merged[table] = int(got.get("numFilesRemoved", 0))
            out.files_deleted[table] = len(gone)
    return out
