"""The data directory: one Delta Lake table per table, the sync state in the Delta log.

Layout (columns: :mod:`cekura_analytics.tables`)::

    D/runs/_delta_log/...        every table is a Delta table (delta-rs, no JVM): DuckDB,
    D/runs/part-....parquet      polars, pandas, Spark, Trino read it as committed
    D/run_metrics/ ...           D may be a local path or s3:// gs:// az:// (same library)
    D/scenarios/ ...             small tables are replaced whole on every sync
    D/.lock                      held by a local writer (flock; freed on kill -9)

Commits and what a reader can see
  A run batch is two Delta commits: first ``run_metrics`` (a predicate overwrite that
  deletes the batch's runs' old metric rows and adds the new ones in one commit), then
  ``runs`` (a MERGE by ``run_id``: a run fetched again replaces its row). A batch of runs
  that are provably new is appended instead (no scan of earlier files): the proof is an
  in-memory index of stored run_ids (plus metric rows without a run), exact only while
  this process holds the local lock, so on object storage every batch is merged. Readers load the
  ``runs`` snapshot first and ``run_metrics`` after it (:mod:`.views` does), so every run
  they see has its metric rows. A crash between the two commits leaves metric rows of runs
  not yet in ``runs``; the joins drop them and the rerun redoes that batch (see below),
  which replaces them idempotently.

Sync state
  The state (:class:`State`: watermarks, the window in progress and its pages done, runs not
  yet finished) is written into the commit metadata (``cekura.sync``) of the same ``runs``
  commit that stores the batch, so it can neither run ahead of the data nor lag behind it;
  :meth:`Store.save_state` adds an empty commit when there is no data. After ``kill -9``
  the last ``runs`` commit carrying the key is the state: the sync resumes after the last
  committed page, and a page whose metrics were committed without its runs is fetched again.

Locking
  A local writer holds ``D/.lock`` (flock), so a second extract fails at once with a clear
  error. On object storage there is no lock: the Delta commit protocol makes concurrent
  commits safe (S3 uses conditional put, ``aws_conditional_put=etag``; set
  ``AWS_S3_LOCKING_PROVIDER=dynamodb`` to use DynamoDB instead) and a writer whose commit
  conflicts fails with one line.

Where D lives and its options: :mod:`.location`. Upkeep (:mod:`.upkeep`): automatic
compaction above :data:`COMPACT_AT` small files, ``optimize`` (compact + vacuum),
``--repair`` of unreadable files, conversion of the old ``part-*.parquet`` layout.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError

from ..errors import StoreError, first_line, os_problem
from .tables import SCHEMAS, TABLES, is_terminal_expr
from .tables import schema as table_schema

# -- where a data dir lives: a local directory or object storage, and the delta-rs options
_REMOTE = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfs://", "abfss://", "azure://")


def is_remote(data_dir: str | Path) -> bool:
    """True for object storage URIs (s3://, gs://, az://, ...)."""
    return str(data_dir).startswith(_REMOTE)


def location(data_dir: str | Path) -> str:
    """The data dir as delta-rs wants it: a URI, or an absolute local path."""
    text = str(data_dir)
    if is_remote(text):
        return text.rstrip("/")
    return str(Path(text).expanduser().resolve())


def storage_options(data_dir: str | Path) -> dict[str, str]:
    """Options for delta-rs: credentials come from the usual environment variables.

    On S3, commits use conditional put (``If-None-Match``) unless the user chose a locking
    provider or unsafe renames in the environment.
    """
    opts: dict[str, str] = {}
    if str(data_dir).startswith(("s3://", "s3a://")):
        chosen = {"AWS_S3_LOCKING_PROVIDER", "AWS_S3_ALLOW_UNSAFE_RENAME", "AWS_CONDITIONAL_PUT"}
        if not chosen & set(os.environ):
            opts["conditional_put"] = "etag"
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
        if endpoint.startswith("http://"):
            opts["allow_http"] = "true"
    return opts


log = logging.getLogger(__name__)
STATE_KEY = "cekura.sync"
STATE_FORMAT = 2
LOCK_FILE = ".lock"
#: the state file of the old parquet layout (its tables have no Delta log yet)
OLD_STATE = "_state.json"
RUN_TABLES = ("run_metrics", "runs")  # commit order: metrics first (see the docstring)
COMPACT_AT = 12  # small files in a run table before it is compacted automatically
# Automatic compaction merges files below SMALL_FILE into files of about that size and never
# touches bigger ones: its memory (one bin in flight) and its rewrites stay bounded however
# large the table grows. `optimize` packs into TARGET_FILE files.
SMALL_FILE = 4 << 20  # bytes
TARGET_FILE = 64 << 20  # bytes


@dataclass
class State:
    """The sync state: everything a resumed or incremental sync needs."""

    format: int = STATE_FORMAT
    scopes: dict[str, dict[str, Any]] = field(default_factory=dict)  # watermark per filter
    pending_run_ids: list[int] = field(default_factory=list)  # stored but not terminal
    in_progress: dict[str, Any] | None = None  # the sync being resumed
    last_sync: dict[str, Any] | None = None
    api_version: str | None = None  # "v2" or "v1": what --api-version auto settled on
    server: str | None = None  # the API origin the data came from (another needs --force)
    project_ids: list[int] = field(default_factory=list)  # the projects of its agents

    def to_json(self) -> str:
        """The state as JSON text."""
        return json.dumps(self.__dict__, default=str, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> State:
        """Parse, rejecting formats this version does not know."""
        d = json.loads(text)
        if d.get("format") != STATE_FORMAT:
            raise StoreError(f"sync state format {d.get('format')!r} is not {STATE_FORMAT}")
        return cls(**d)


def _arrow(df: pl.DataFrame) -> pa.Table:
    """``df`` as Arrow without copying (string views: delta-rs takes them as they are)."""
    return df.to_arrow(compat_level=pl.CompatLevel.newest())


def _csv(ids: pl.Series) -> str:
    return ",".join(map(str, ids.to_list()))


class Store:
    """A data directory opened for reading, or for writing with ``lock=True``."""

    def __init__(self, root: str | Path, *, lock: bool = False) -> None:
        self.uri = location(root)
        self.remote = is_remote(self.uri)
        self.root: Path | str = self.uri if self.remote else Path(self.uri)
        self.options = storage_options(self.uri)
        self._lock_fh: Any = None
        self._tables: dict[str, DeltaTable] = {}
        self._index: pl.DataFrame | None = None
        self._orphans: set[int] = set()
        if lock and not self.remote:
            try:
                Path(self.uri).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise cannot_write(self.uri, "the data dir", exc) from None
            self._acquire_lock()
        self.state = State()
        try:
            self.state = self._load_state()
        except BaseException:
            self.close()
            raise

    def reload_state(self) -> None:
        """Read the sync state again (after a step that committed one, e.g. a conversion)."""
        self._tables.clear()
        self.state = self._load_state()

    # -- opening ---------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        try:
            self._lock_fh = open(Path(self.uri) / LOCK_FILE, "a+")  # noqa: SIM115 - held for life
        except OSError as exc:
            raise cannot_write(self.uri, LOCK_FILE, exc) from None
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            self._lock_fh = None
            raise StoreError(
                f"{self.uri}: another extract or job is writing here; wait for it to finish"
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

    def table_uri(self, table: str) -> str:
        """Where ``table`` lives."""
        return f"{self.uri}/{table}"

    def table(self, table: str) -> DeltaTable | None:
        """The latest snapshot of ``table`` (None when it was never written)."""
        dt = self._tables.get(table)
        if dt is not None:
            return dt
        uri = self.table_uri(table)
        if not DeltaTable.is_deltatable(uri, storage_options=self.options):
            if not self.remote:
                self._refuse_orphans(table)
            return None
        try:
            dt = DeltaTable(uri, storage_options=self.options)
        except (DeltaError, OSError) as exc:
            raise self._bad_log(table, exc) from None
        self._tables[table] = dt
        return dt

    def _refuse_orphans(self, table: str) -> None:
        """Data files without a Delta log are a table that lost its log, not an empty one:
        answering "0 runs" would hide every run it holds."""
        root = Path(self.uri)
        folder = root / table
        if not folder.is_dir() or (root / OLD_STATE).exists():  # the old layout: converted
            return
        files = sum(1 for _ in folder.glob("*.parquet"))
        if files:
            raise StoreError(
                f"{table}: its Delta log {folder / '_delta_log'} is missing or empty although "
                f"{files} data files are there, so the table cannot be read (it would count "
                f"as empty); restore {table}/_delta_log from a backup, or move {folder} aside "
                f"and run `cekura-analytics extract --full --data-dir {self.uri}`"
            )

    def _bad_log(self, table: str, exc: BaseException) -> StoreError:
        """One line naming the corrupt file of a Delta log that cannot be read, and a fix."""
        problem = os_problem(exc)
        if problem:
            return StoreError(f"{table}: the Delta log cannot be read ({problem})")
        found = None if self.remote else corrupt_log_file(Path(self.uri) / table / "_delta_log")
        if found is None:
            return StoreError(
                f"{table}: the Delta log cannot be read ({first_line(exc)}); restore "
                f"{table}/_delta_log from a backup, or move {self.table_uri(table)} aside and "
                f"run `cekura-analytics extract --full --data-dir {self.uri}`"
            )
        path, why, newest = found
        aside = Path(self.uri) / "_damaged" / table / "_delta_log"
        fix = (
            f"it is the newest commit: move it to {aside}/ (the table then reads as the "
            f"version before) and run `cekura-analytics extract --full --data-dir {self.uri}` "
            "to fetch what it held"
            if newest
            else "later commits build on it: restore it from a backup, or move "
            f"{self.table_uri(table)} aside and run `cekura-analytics extract --full "
            f"--data-dir {self.uri}`"
        )
        return StoreError(f"{table}: Delta log file {path} is corrupt ({why}); {fix}")

    def _ensure(self, table: str, schema: dict[str, pl.DataType]) -> DeltaTable:
        dt = self.table(table)
        if dt is None:
            empty = pl.DataFrame(schema=schema).to_arrow()
            with self.writing(table):
                write_deltalake(self.table_uri(table), empty, storage_options=self.options)
            dt = self.table(table)
            assert dt is not None
        return dt

    def _load_state(self) -> State:
        dt = self.table("runs")
        if dt is None:
            return State()
        commits = dt.history(64)
        if len(commits) == 64 and not any(STATE_KEY in c for c in commits):
            commits = dt.history()  # the state is further back (e.g. many other commits)
        for commit in commits:
            if STATE_KEY in commit:
                try:
                    return State.from_json(commit[STATE_KEY])
                except (ValueError, TypeError, StoreError) as exc:
                    raise StoreError(
                        f"{self.uri}: the sync state in runs version {commit.get('version')}"
                        f" is unreadable ({first_line(exc)}); rerun with --full"
                    ) from None
        return State()

    def state_properties(self) -> CommitProperties:
        """Commit properties carrying the sync state (for a ``runs`` commit)."""
        return CommitProperties(custom_metadata={STATE_KEY: self.state.to_json()})

    # -- writing -----------------------------------------------------------------------
    def save_state(self) -> None:
        """Commit the state alone (an empty commit of ``runs`` carrying it)."""
        self._ensure("run_metrics", SCHEMAS["run_metrics"])
        dt = self._ensure("runs", SCHEMAS["runs"])
        empty = pl.DataFrame(schema=SCHEMAS["runs"]).to_arrow()
        self._write(dt, empty, mode="append", commit_properties=self.state_properties())

    def _write(self, dt: DeltaTable, data: pa.Table, **kw: Any) -> None:
        with self.writing(_name(dt)):
            write_deltalake(dt, data, storage_options=self.options, **kw)

    @contextlib.contextmanager
    def writing(self, table: str) -> Iterator[None]:
        """Around every delta-rs write: a commit conflict, a full or read-only disk as one
        line (what was committed before stays intact: a Delta commit is all or nothing),
        and the panic reports Rust prints on such failures kept off the terminal."""
        try:
            with rust_panics_hidden():
                yield
        except CommitFailedError as exc:
            raise self._conflict(exc) from None
        except BaseException as exc:
            if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
                raise  # KeyboardInterrupt, SystemExit
            if os_problem(exc) is not None:
                raise cannot_write(self.uri, table, exc) from None
            if type(exc).__name__ == "PanicException":
                raise StoreError(
                    f"{self.uri}: writing {table} failed inside delta-rs ({first_line(exc)}); "
                    "what was committed before is intact: rerun"
                ) from None
            raise

    def _conflict(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"{self.uri}: another writer committed to this data dir at the same time "
            f"({first_line(exc)}); nothing was lost: rerun when it has finished"
        )

    def replace_table(self, table: str, df: pl.DataFrame) -> None:
        """Replace a table whole in one commit (its schema: ``SCHEMAS`` or the frame's)."""
        data = _arrow(df)
        dt = self.table(table)
        if dt is None:
            with self.writing(table):
                write_deltalake(self.table_uri(table), data, storage_options=self.options)
        else:
            self._write(dt, data, mode="overwrite", schema_mode="overwrite")
        self._tables.pop(table, None)

    def upsert_runs(
        self,
        runs: pl.DataFrame,
        run_metrics: pl.DataFrame,
        *,
        update: dict[str, Any] | None = None,
    ) -> None:
        """Commit a run batch: its metric rows replace the runs' old ones, then the runs
        are merged by id; ``update`` (state fields) goes into the same ``runs`` commit."""
        for key, value in (update or {}).items():
            setattr(self.state, key, value)
        if runs.height == 0:
            self.save_state()
            return
        if runs["run_id"].is_duplicated().any():  # the same run twice in a batch: keep last
            runs = runs.unique("run_id", keep="last", maintain_order=True)
            run_metrics = run_metrics.unique(maintain_order=True)
        ids = runs["run_id"].cast(pl.Int64)
        lo, hi = int(ids.min()), int(ids.max())  # type: ignore[arg-type]
        index = self._run_index()
        new = (
            index is not None
            and not index["run_id"].is_in(ids.implode()).any()
            and not self._orphans.intersection(ids.to_list())
        )
        mdt = self._ensure("run_metrics", SCHEMAS["run_metrics"])
        table = "run_metrics"
        try:
            if new:  # none of these runs is stored (the index is exact under our lock): append
                self._write(mdt, _arrow(run_metrics), mode="append", schema_mode="merge")
            else:
                # the range lets delta-rs skip files by their statistics (IN lists are not)
                pred = f"run_id >= {lo} and run_id <= {hi} and run_id in ({_csv(ids)})"
                mode = {"mode": "overwrite", "predicate": pred, "schema_mode": "merge"}
                self._write(mdt, _arrow(run_metrics), **mode)
            table = "runs"
            rdt = self._ensure("runs", SCHEMAS["runs"])
            if new:
                meta = self.state_properties()
                self._write(
                    rdt, _arrow(runs), mode="append", schema_mode="merge", commit_properties=meta
                )
            else:
                self._merge(rdt, runs, lo, hi)
        except CommitFailedError as exc:
            raise self._conflict(exc) from None
        except (OSError, DeltaError, pa.ArrowException) as exc:
            raise self._unreadable(table, exc) from None
        if index is not None:
            final = runs.select(pl.col("run_id").cast(pl.Int64), final=is_terminal_expr())
            kept = index.filter(~pl.col("run_id").is_in(ids.implode()))
            self._index = pl.concat([kept, final])
            self._orphans.difference_update(ids.to_list())

    def _run_index(self) -> pl.DataFrame | None:
        """run_id and "is final" of every stored run, kept in memory while this process
        holds the local lock (no other writer can change the table then); None without it.

        Also notes metric rows whose run is not in ``runs`` (a crash between the two commits
        of a batch): such a batch must replace them, not append next to them.
        """
        if self._lock_fh is None:
            return None
        if self._index is None:
            stored = self._scan("runs", ["run_id", "status"])
            self._index = stored.select(pl.col("run_id").cast(pl.Int64), final=is_terminal_expr())
            metric_runs = self._scan("run_metrics", ["run_id"])["run_id"].unique()
            orphans = metric_runs.filter(~metric_runs.is_in(self._index["run_id"].implode()))
            self._orphans = set(orphans.to_list())
        return self._index

    def _scan(self, table: str, columns: list[str]) -> pl.DataFrame:
        """Some ``columns`` of a table as committed, read by polars' own parquet reader: what
        :meth:`read` gives, without loading pyarrow's dataset layer and DataFusion's scan
        for it (about 50 MB more resident for the rest of an extract, for two columns)."""
        dt = self.table(table)
        if dt is None:
            return self.read(table, columns=columns)
        try:
            return pl.scan_delta(dt).select(columns).collect()
        except (OSError, DeltaError, pa.ArrowException, pl.exceptions.PolarsError) as exc:
            raise self._unreadable(table, exc) from None

    def _merge(self, rdt: DeltaTable, runs: pl.DataFrame, lo: int, hi: int) -> None:
        """MERGE ``runs`` by run_id into the table, with the state in the commit metadata."""
        on = f"t.run_id = s.run_id and t.run_id >= {lo} and t.run_id <= {hi}"
        merger = rdt.merge(
            _arrow(runs),
            on,
            source_alias="s",
            target_alias="t",
            merge_schema=True,
            commit_properties=self.state_properties(),
        )
        with self.writing("runs"):
            merger.when_matched_update_all().when_not_matched_insert_all().execute()

    def _unreadable(self, table: str, exc: BaseException) -> StoreError:
        return unreadable(self, table, exc)

    def small_files(self, table: str) -> int:
        """How many files of ``table`` are below the small-file size."""
        dt = self.table(table)
        if dt is None:
            return 0
        return int((add_actions(dt)["size_bytes"] < SMALL_FILE).sum())

    def compact(self, *, at: int = COMPACT_AT) -> int:
        """Compact the run tables when one holds more than ``at`` small files (no vacuum:
        older versions stay readable). Returns how many files were merged away."""
        merged = 0
        for table in RUN_TABLES:
            dt = self.table(table)
            if dt is None or self.small_files(table) <= at:
                continue
            props = self.state_properties() if table == "runs" else None
            with self.writing(table):
                got = dt.optimize.compact(
                    target_size=SMALL_FILE, max_concurrent_tasks=1, commit_properties=props
                )
            merged += int(got.get("numFilesRemoved", 0)) - int(got.get("numFilesAdded", 0))
        return merged

    # -- reading -----------------------------------------------------------------------
    def version(self, table: str) -> int | None:
        """The latest version of ``table`` (None when it was never written)."""
        dt = self.table(table)
        return dt.version() if dt is not None else None

    def read(
        self,
        table: str,
        schema: dict[str, pl.DataType] | None = None,
        columns: list[str] | None = None,
    ) -> pl.DataFrame:
        """A table (or some ``columns``) as committed; zero rows with the schema when it does
        not exist (with its columns from :data:`.tables.TABLES`, or ``schema``).
        """
        dt = self.table(table)
        if dt is None:
            empty = pl.DataFrame(schema=schema or table_schema(table))
            return empty.select(columns) if columns else empty
        try:
            return pl.from_arrow(dt.to_pyarrow_table(columns=columns))  # type: ignore[return-value]
        except (OSError, DeltaError, pa.ArrowException) as exc:
            raise self._unreadable(table, exc) from None

    def row_counts(self) -> dict[str, int]:
        """Rows per table, from the Delta log (no data read)."""
        out = {}
        for table in TABLES:
            dt = self.table(table)
            if dt is not None:
                out[table] = int(add_actions(dt)["num_records"].sum())
        return out

    def stored_run_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are stored with a final status (a run stored while still running
        is fetched again); reads only the files whose run_id range overlaps ``ids``."""
        wanted = sorted(set(ids))
        dt = self.table("runs")
        if not wanted or dt is None:
            return set()
        index = self._run_index()
        if index is not None:  # no file read: linear cost whatever the table's size
            hit = index.filter(pl.col("run_id").is_in(wanted) & pl.col("final"))
            return set(hit["run_id"].to_list())
        pruning = f"run_id >= {wanted[0]} and run_id <= {wanted[-1]}"
        if not dt.file_uris(file_pruning_predicate=pruning):
            return set()
        ds = dt.to_pyarrow_dataset(file_pruning_predicate=pruning)
        try:
            got = ds.to_table(columns=["run_id", "status"], filter=pc.field("run_id").isin(wanted))
        except (OSError, pa.ArrowException) as exc:
            raise self._unreadable("runs", exc) from None
        found = pl.DataFrame(got).filter(is_terminal_expr())
        return set(found["run_id"].to_list())


# -- reading errors: which data file cannot be read ---------------------------------------
def add_actions(dt: Any) -> pl.DataFrame:
    """One row per data file of the snapshot: path, size, row count, min/max statistics."""
    return pl.DataFrame(dt.get_add_actions(flatten=True))


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
    """One line naming the damaged file of ``table`` (found by reading each file), or
    saying the files this snapshot lists were vacuumed since it was opened."""
    bad = damaged_files(store, table)
    if not bad:
        return StoreError(f"{table}: cannot be read ({first_line(exc)})")
    path, why = next(iter(bad.items()))
    full = path if path.startswith("/") else f"{store.table_uri(table)}/{path}"
    gone = None if store.remote else missing_file_hint(full)
    if gone:
        return StoreError(f"{table}: {gone}")
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return StoreError(
        f"{table}: data file {path}{more} cannot be read ({why}); run `cekura-analytics "
        f"extract --repair --data-dir {store.uri}` to fetch its runs again"
    )


_QUOTED_PARQUET = re.compile(r"""["']([^"']+\.parquet)["']""")


def missing_file_in(text: str) -> str | None:
    """:func:`missing_file_hint` for the first quoted local ``.parquet`` path in an error's
    text (DuckDB names the file it could not open)."""
    for path in _QUOTED_PARQUET.findall(text):
        if path.startswith("/"):
            return missing_file_hint(path)
    return None


def missing_file_hint(path: str) -> str | None:
    """Why a local data file a reader wanted is not there: removed by a vacuum after the
    reader's snapshot (the table's newest version no longer lists it), or deleted from
    under the table (still listed: ``--repair``); None when the file is there."""
    file = Path(path)
    if file.exists():
        return None
    folder = file.parent
    try:
        live = {Path(u).name for u in DeltaTable(str(folder)).file_uris()}
    except (DeltaError, OSError):
        return None
    if file.name in live:
        return (
            f"data file {file.name} is missing although the table lists it (deleted from "
            f"under it); run `cekura-analytics extract --repair --data-dir {folder.parent}` "
            "to fetch its runs again"
        )
    return (
        f"data file {file.name} was removed by a vacuum (optimize) after this reader took "
        "its snapshot: that version is older than the retention window; rerun the query "
        "(re-open the connection) to read the current version, and keep --retain-days above "
        "the time readers stay open"
    )


def corrupt_log_file(log_dir: Path) -> tuple[str, str, bool] | None:
    """The first Delta log file that is not JSON: ``(path, why, is_newest_commit)``."""
    commits = sorted(log_dir.glob("[0-9]*.json"))
    for n, path in enumerate([*commits, log_dir / "_last_checkpoint"]):
        if not path.exists():
            continue
        try:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            return str(path), first_line(exc, 120), n == len(commits) - 1
    return None


def cannot_write(where: str, what: str, exc: BaseException) -> StoreError:
    """One line for a write the disk refused: full, read-only, or not ours."""
    problem = os_problem(exc) or first_line(exc)
    if problem == "read-only file system":
        hint = (
            "extract, optimize, failure-modes and improve need a writable data dir (reading "
            "commands work as they are); copy it somewhere writable or remount it"
        )
    elif problem == "permission denied":
        hint = "check the owner and mode of the data dir (reading commands work as they are)"
    else:
        hint = "what was committed before is intact: free some space, then rerun to resume"
    return StoreError(f"{where}: cannot write {what}: {problem}; {hint}")


def _name(dt: DeltaTable) -> str:
    """A table's name: the last part of its location."""
    return str(dt.table_uri).rstrip("/").rsplit("/", 1)[-1]


# -- Rust panic reports on stderr ---------------------------------------------------------
_PANIC = re.compile(r"^thread '.*' (\(\d+\) )?panicked at ")
_FRAME = re.compile(r"^(note: |\s+\d+: |\s+at )")


@contextlib.contextmanager
def rust_panics_hidden() -> Iterator[None]:
    """Capture file descriptor 2 around a delta-rs call and pass on all but Rust panic
    reports: a worker thread that panics on a failed write (a full disk) prints one to
    fd 2, past Python, although the call then fails with an error of its own."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        read_end, write_end = os.pipe()
    except (OSError, ValueError):  # no fd 2 to speak of: nothing to hide
        yield
        return
    chunks: list[bytes] = []

    def drain() -> None:
        while data := os.read(read_end, 65536):
            chunks.append(data)

    reader = threading.Thread(target=drain, name="cekura-stderr", daemon=True)
    reader.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last writer goes: the reader sees its end
        os.close(saved)
        reader.join(timeout=5)
        os.close(read_end)
        kept = _without_panics(b"".join(chunks).decode(errors="replace"))
        if kept.strip():
            os.write(2, kept.encode())


def _without_panics(text: str) -> str:
    """``text`` without Rust panic reports (each logged at debug level): a report is the
    ``thread '…' panicked at`` line, its message, and either the ``note:`` line that
    ends it or, after ``stack backtrace:``, the frame lines."""
    out: list[str] = []
    state = ""  # "" outside a report, "message" inside one, "frames" in its backtrace
    for line in text.splitlines(keepends=True):
        if _PANIC.match(line):
            state = "message"
            log.debug("delta-rs: %s", line.strip())
        elif state == "message":
            if line.startswith("note: "):
                state = ""
            elif line.startswith("stack backtrace:"):
                state = "frames"
        elif state == "frames" and _FRAME.match(line):
            if line.startswith("note: "):
                state = ""
        else:
            state = ""
            out.append(line)
    return "".join(out)
