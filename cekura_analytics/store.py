"""The data directory: parquet parts, atomic commits, the sync state, compaction.

Layout (see :mod:`cekura_analytics.tables` for the columns)::

    D/_state.json                       manifest + sync state, replaced atomically
    D/runs/part-000042.parquet          run batches: runs and run_metrics parts share a seq
    D/run_metrics/part-000042.parquet
    D/scenarios/part-000043.parquet     small tables: one part, replaced whole each sync
    D/.lock                             held while a writer works (flock; freed on kill -9)

Crash safety: a part is written to a hidden temp name, fsynced and renamed; only then is
``_state.json`` rewritten (temp + fsync + rename) to list it. A file that the state does not
list is debris of a crashed writer and is removed when the store is next opened for
writing, so the directory always equals its last committed state. Run batches are upserts:
a run fetched again replaces its older row (and its metric rows) in the same commit.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .errors import StoreError
from .tables import SCHEMAS

STATE_FILE = "_state.json"
STATE_FORMAT = 1
RUN_TABLES = ("runs", "run_metrics")
PART_RE = re.compile(r"^part-(\d{6,})\.parquet$")
COMPACT_AT = 32  # run batches before compaction kicks in
COMPACT_TARGET_ROWS = 50_000  # runs per compacted part


@dataclass
class RunBatch:
    """One committed run batch: ``runs`` and ``run_metrics`` parts with the same seq."""

    seq: int
    rows: int
    metric_rows: int
    min_run_id: int
    max_run_id: int

    @property
    def file(self) -> str:
        """The part file name in both run tables."""
        return f"part-{self.seq:06d}.parquet"


@dataclass
class State:
    """What ``_state.json`` holds; everything a resumed or incremental sync needs."""

    format: int = STATE_FORMAT
    next_seq: int = 1
    run_batches: list[RunBatch] = field(default_factory=list)
    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> {seq, rows}
    scopes: dict[str, dict[str, Any]] = field(default_factory=dict)  # watermark per filter
    pending_run_ids: list[int] = field(default_factory=list)  # stored but not terminal
    in_progress: dict[str, Any] | None = None  # the sync being resumed
    last_sync: dict[str, Any] | None = None
    api_version: str | None = None  # "v2" or "v1": what --api-version auto settled on

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        d = self.__dict__.copy()
        d["run_batches"] = [b.__dict__ for b in self.run_batches]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> State:
        """Parse, rejecting formats this version does not know."""
        if d.get("format") != STATE_FORMAT:
            raise StoreError(f"state format {d.get('format')!r} is not {STATE_FORMAT}")
        d = dict(d)
        d["run_batches"] = [RunBatch(**b) for b in d.get("run_batches", [])]
        return cls(**d)


def _fsync_write(path: Path, data: bytes) -> None:
    """Write bytes to a hidden temp file next to ``path``, fsync, then rename over it."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Store:
    """A data directory opened for reading, or for writing with ``lock=True``."""

    def __init__(self, root: Path | str, *, lock: bool = False) -> None:
        self.root = Path(root)
        self._lock_fh: Any = None
        if lock:
            self.root.mkdir(parents=True, exist_ok=True)
            self._acquire_lock()
        self.state = self._load_state()
        if lock:
            if not (self.root / STATE_FILE).exists():
                # State first: a part may only ever exist next to a state file, so a crash
                # during the very first commit leaves a directory we still recognise.
                self.save_state()
            self._remove_debris()

    # -- opening ---------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        self._lock_fh = open(self.root / ".lock", "a+")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            raise StoreError(
                f"{self.root}: another extract or job is writing here; wait for it to finish"
            ) from None

    def close(self) -> None:
        """Release the writer lock."""
        if self._lock_fh is not None:
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load_state(self) -> State:
        path = self.root / STATE_FILE
        if not path.exists():
            if any(self.root.glob("*/part-*.parquet")):
                raise StoreError(
                    f"{self.root} holds parquet parts but no {STATE_FILE}: it was not written "
                    "by this toolkit or the state was deleted; use another --data-dir"
                )
            return State()
        try:
            return State.from_json(json.loads(path.read_text()))
        except (ValueError, TypeError, StoreError) as exc:
            raise StoreError(
                f"{path} is unreadable ({exc}); restore it from a backup or use a new --data-dir"
            ) from None

    def listed_files(self) -> dict[str, set[str]]:
        """Part files the state lists, per table directory."""
        out: dict[str, set[str]] = {t: set() for t in SCHEMAS}
        for b in self.state.run_batches:
            for t in RUN_TABLES:
                out[t].add(b.file)
        for name, info in self.state.tables.items():
            out.setdefault(name, set()).add(f"part-{info['seq']:06d}.parquet")
        return out

    def _remove_debris(self) -> None:
        """Delete temp files and parts no committed state lists (a crashed writer's)."""
        for table, files in self.listed_files().items():
            tdir = self.root / table
            if not tdir.is_dir():
                continue
            for f in tdir.iterdir():
                stray = f.name.startswith(".") and f.name.endswith(".tmp")
                if stray or (PART_RE.match(f.name) and f.name not in files):
                    f.unlink(missing_ok=True)
            missing = [f for f in files if not (tdir / f).exists()]
            if missing:
                raise StoreError(
                    f"{tdir}: {missing[0]} is listed in {STATE_FILE} but missing; "
                    "rerun with --full into a new --data-dir"
                )

    # -- writing -----------------------------------------------------------------------
    def _new_seq(self) -> int:
        seq = self.state.next_seq
        self.state.next_seq += 1
        return seq

    def write_part(self, table: str, seq: int, df: pl.DataFrame | pl.LazyFrame) -> Path:
        """Write a part under its final name via temp + fsync + rename (not yet committed)."""
        tdir = self.root / table
        tdir.mkdir(parents=True, exist_ok=True)
        final = tdir / f"part-{seq:06d}.parquet"
        tmp = tdir / f".{final.name}.tmp"
        if isinstance(df, pl.LazyFrame):
            df.sink_parquet(tmp, compression="zstd")
        else:
            df.write_parquet(tmp, compression="zstd", statistics=True)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        return final

    def save_state(self, obsolete: Iterable[Path] = ()) -> None:
        """Commit: rewrite ``_state.json`` atomically, then delete what it no longer lists."""
        data = json.dumps(self.state.to_json(), indent=1, default=str).encode()
        _fsync_write(self.root / STATE_FILE, data)
        for p in obsolete:
            p.unlink(missing_ok=True)

    def replace_table(self, table: str, df: pl.DataFrame) -> None:
        """Replace a small table whole (scenarios, metrics, ...) in one commit."""
        seq = self._new_seq()
        self.write_part(table, seq, df)
        old = self.state.tables.get(table)
        self.state.tables[table] = {"seq": seq, "rows": df.height}
        obsolete = [self.root / table / f"part-{old['seq']:06d}.parquet"] if old else []
        self.save_state(obsolete)

    def upsert_runs(
        self,
        runs: pl.DataFrame,
        run_metrics: pl.DataFrame,
        *,
        update: dict[str, Any] | None = None,
    ) -> None:
        """Commit a run batch; older rows of the same runs are removed in the same commit.

        ``update`` holds state fields (e.g. the page just finished) committed with the data.
        """
        obsolete: list[Path] = []
        if runs.height:
            ids = runs["run_id"]
            lo, hi = int(ids.min()), int(ids.max())  # type: ignore[arg-type]
            kept: list[RunBatch] = []
            for b in self.state.run_batches:
                if b.max_run_id < lo or b.min_run_id > hi or not self._holds_any(b, ids):
                    kept.append(b)
                    continue
                obsolete += [self.root / t / b.file for t in RUN_TABLES]
                rest = self._without(b, ids)
                if rest is not None:
                    kept.append(rest)
            self.state.run_batches = kept
            seq = self._new_seq()
            self.write_part("runs", seq, runs)
            self.write_part("run_metrics", seq, run_metrics)
            self.state.run_batches.append(RunBatch(seq, runs.height, run_metrics.height, lo, hi))
        for key, value in (update or {}).items():
            setattr(self.state, key, value)
        self.save_state(obsolete)

    def _holds_any(self, batch: RunBatch, ids: pl.Series) -> bool:
        path = self.root / "runs" / batch.file
        found = pl.scan_parquet(path).filter(pl.col("run_id").is_in(ids.implode())).head(1)
        return found.collect().height > 0

    def _without(self, batch: RunBatch, ids: pl.Series) -> RunBatch | None:
        """Rewrite a batch minus ``ids`` under a new seq; None when nothing is left."""
        keep = ~pl.col("run_id").is_in(ids.implode())
        runs = pl.read_parquet(self.root / "runs" / batch.file).filter(keep)
        if runs.height == 0:
            return None
        metrics = pl.read_parquet(self.root / "run_metrics" / batch.file).filter(keep)
        seq = self._new_seq()
        self.write_part("runs", seq, runs)
        self.write_part("run_metrics", seq, metrics)
        return RunBatch(
            seq,
            runs.height,
            metrics.height,
            int(runs["run_id"].min()),  # type: ignore[arg-type]
            int(runs["run_id"].max()),  # type: ignore[arg-type]
        )

    def compact(self, *, at: int = COMPACT_AT, target_rows: int = COMPACT_TARGET_ROWS) -> int:
        """Merge small run batches into parts of about ``target_rows`` runs (streaming).

        Returns how many batches were merged away.
        """
        if len(self.state.run_batches) <= at:
            return 0
        batches = sorted(self.state.run_batches, key=lambda b: b.min_run_id)
        groups: list[list[RunBatch]] = [[]]
        for b in batches:
            if groups[-1] and sum(x.rows for x in groups[-1]) + b.rows > target_rows:
                groups.append([])
            groups[-1].append(b)
        merged = 0
        for group in groups:
            if len(group) < 2:
                continue
            seq = self._new_seq()
            for t in RUN_TABLES:
                files = [self.root / t / b.file for b in group]
                self.write_part(t, seq, pl.scan_parquet(files))
            new = RunBatch(
                seq,
                sum(b.rows for b in group),
                sum(b.metric_rows for b in group),
                min(b.min_run_id for b in group),
                max(b.max_run_id for b in group),
            )
            members = {b.seq for b in group}
            self.state.run_batches = [b for b in self.state.run_batches if b.seq not in members] + [
                new
            ]
            self.save_state([self.root / t / b.file for b in group for t in RUN_TABLES])
            merged += len(group) - 1
        return merged

    # -- reading -----------------------------------------------------------------------
    def files(self, table: str) -> list[Path]:
        """Committed part files of a table."""
        return sorted(self.root / table / f for f in self.listed_files().get(table, ()))

    def read(self, table: str, schema: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
        """A whole table as committed (zero rows with the schema when empty).

        ``schema`` is for tables outside ``SCHEMAS`` (e.g. the improve-job ledger).
        """
        files = self.files(table)
        if not files:
            return pl.DataFrame(schema=schema or SCHEMAS[table])
        return pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")

    def row_counts(self) -> dict[str, int]:
        """Rows per table according to the committed state."""
        counts = {t: info["rows"] for t, info in self.state.tables.items()}
        counts["runs"] = sum(b.rows for b in self.state.run_batches)
        counts["run_metrics"] = sum(b.metric_rows for b in self.state.run_batches)
        return counts

    def stored_run_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are already stored (reads only the candidate parts)."""
        wanted = pl.Series("run_id", sorted(set(ids)), dtype=pl.Int64)
        if wanted.is_empty():
            return set()
        lo, hi = int(wanted.min()), int(wanted.max())  # type: ignore[arg-type]
        files = [
            self.root / "runs" / b.file
            for b in self.state.run_batches
            if not (b.max_run_id < lo or b.min_run_id > hi)
        ]
        if not files:
            return set()
        found = (
            pl.scan_parquet(files)
            .select("run_id")
            .filter(pl.col("run_id").is_in(wanted.implode()))
            .collect()
        )
        return set(found["run_id"].to_list())
