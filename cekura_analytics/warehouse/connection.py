"""DuckDB views over the extracted Delta tables: ``connect``, ad-hoc SQL, a database file.

Every view is defined in ``sql/NN_<view>.sql`` (one per file, run in file-name order).
Staging views (``10``-``19``) read a table through a placeholder (``{runs}``,
``{run_metrics}``, ...) that :func:`connect` replaces by the data files of one committed
Delta snapshot (``read_parquet([...])``; on object storage an Arrow dataset of the
snapshot, since DuckDB's delta extension cannot be relied on). A table that does not exist
(yet, or at the ``as_of`` time) is an empty relation with the columns of
:mod:`cekura_analytics.tables`. Files not in the snapshot (a writer's uncommitted output,
versions replaced since) are never read, so the staging SQL only renames and casts.
Time travel: ``connect(..., as_of=VERSION|TIMESTAMP)`` (:func:`parse_as_of`, :func:`snapshot`).

Connections run with ``TimeZone = 'UTC'`` (text timestamps without an offset are UTC) and
no progress bar. Tables hold settings: ``pass_rules`` (the rules file, see :mod:`.rules`)
and ``table_versions`` (the Delta version of each table the views read); ``outlier_settings``
(the thresholds of the ``outlier_runs`` view) reads the connection's variables. An in-memory
connection over a local data dir attaches the views from the data dir's cache
(:mod:`.cache`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb as ddb  # the module; duckdb() below writes a database file
import polars as pl
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from ..defaults import OUTLIER_SETTINGS
from ..errors import ConfigError, DataError, StoreError, first_line
from ..lake.maintenance import refuse_old_layout
from ..lake.store import Store, is_remote, missing_file_in, unreadable
from ..lake.tables import EXTRACTED, TABLES, TERMINAL_STATUSES
from ..lake.tables import schema as table_schema
from ..scope import parse_as_of
from .cache import CACHE_DIR, cache_key, cached_views, pin
from .rules import Rules, load_rules, rules_path, unmatched_keys

log = logging.getLogger("cekura_analytics.warehouse")

#: where the view definitions live (inside the package)
SQL_DIR = Path(__file__).with_name("sql")


#: Small relations that every metric query would otherwise rebuild, each with a scan of the
#: large tables (``metric_catalog`` reads every ``run_metrics`` metric_id for the ids the
#: metrics table lacks; the ``int_*`` read ``runs`` for ids their tables lack;
#: ``metric_cells`` counts every metric result, which the pass-rate views sum, and
#: ``pass_rates_daily`` counts them per day, too fine a grain to keep as cells;
#: ``reviewed_results`` picks the few reviewed runs' results out of all of them, which every
#: review question and the report's trust section would do again): an in-memory connection
#: reads them from the data dir's cache for its snapshot and rules, or computes them once
#: (:mod:`.cache`), and its views read the result.
PINNED = ("int_scenarios", "int_personalities", "metric_catalog", "metric_cells",
          "pass_rates_daily", "reviewed_results")  # fmt: skip

#: ``{table}`` -> the table's rows as of the snapshot :func:`connect` pinned
_PLACEHOLDER = re.compile(r"\{(" + "|".join(TABLES) + r")\}")


def sql_dir() -> Path:
    """The directory holding the view definitions (``setup/``, ``staging/``,
    ``intermediate/``, ``marts/``, each file ``NN_<view>.sql``)."""
    if not any(SQL_DIR.rglob("*.sql")):
        raise DataError(f"no view definitions found in {SQL_DIR}: reinstall cekura-analytics")
    return SQL_DIR


def sql_files() -> list[Path]:
    """The view definitions in dependency order: by the number that starts each file name
    (setup 0x, staging 1x, intermediate 2x, marts 3x and up)."""
    return sorted(sql_dir().rglob("[0-9]*.sql"), key=lambda f: f.name)


def python_macros() -> str:
    """SQL macros whose values are Python constants, so each rule has one definition."""
    terminal = ", ".join(_literal(s) for s in sorted(TERMINAL_STATUSES))
    return (
        "-- a run status after which the run no longer changes (lake.tables.TERMINAL_STATUSES)\n"
        f"create or replace macro is_terminal_status(s) as lower(s) in ({terminal});\n"
    )


def view_names() -> list[str]:
    """Names of the views :func:`connect` registers, in dependency order."""
    names = []
    for f in sql_files():
        m = re.search(r"create\s+or\s+replace\s+view\s+(\w+)", f.read_text(), re.I)
        if m:
            names.append(m.group(1))
    return names


def _duck_type(dtype: Any) -> str:
    if isinstance(dtype, pl.List):
        return _duck_type(dtype.inner) + "[]"
    if isinstance(dtype, pl.Datetime):
        return "timestamptz" if dtype.time_zone else "timestamp"
    names = {
        pl.Int64: "bigint",
        pl.String: "varchar",
        pl.Boolean: "boolean",
        pl.Float64: "double",
        pl.Date: "date",
    }
    for pl_type, duck in names.items():
        if dtype == pl_type:
            return duck
    raise TypeError(f"no DuckDB type for {dtype}")


def _literal(text: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def snapshot(store: Store, as_of: int | datetime | None = None) -> dict[str, DeltaTable | None]:
    """Every table's Delta snapshot, ``runs`` loaded first and ``run_metrics`` right after it
    (the commit order of :mod:`.store`, so every run seen has its metric rows).

    ``as_of`` a version: ``runs`` at that version, the other tables as they stood when it
    was committed; a timestamp: every table as it stood then (absent tables are empty).
    """
    out: dict[str, DeltaTable | None] = {}
    when: datetime | None = as_of if isinstance(as_of, datetime) else None
    for table in TABLES:  # runs first, run_metrics right after (the registry's order)
        dt = store.table(table)
        if dt is None or as_of is None:
            out[table] = dt
            continue
        latest = store.version(table)
        had_rows = table == "runs" and bool(dt.file_uris())
        try:
            if table == "runs" and isinstance(as_of, int):
                # history of the latest snapshot: after time travel it numbers versions wrong
                when = datetime.fromtimestamp(_commit_ms(dt, as_of) / 1000, UTC)
                dt.load_as_version(as_of)
            else:
                assert when is not None
                dt.load_as_version(when)
        except (DeltaError, ValueError, OSError) as exc:
            if table == "runs":
                raise DataError(
                    f"--as-of {as_of}: the runs table has no such version ({first_line(exc)});"
                    f" it is at version {store.version('runs')}"
                ) from None
            dt = None  # the table did not exist yet
        if dt is not None:
            _check_as_of(store, table, dt, as_of, had_rows, latest)
        out[table] = dt
    return out


def _when(as_of: int | datetime) -> str:
    return str(as_of) if isinstance(as_of, int) else as_of.isoformat().replace("+00:00", "Z")


def _check_as_of(
    store: Store, table: str, dt: DeltaTable, as_of: int | datetime, had_rows: bool, latest: Any
) -> None:
    """A time-travelled snapshot that can answer: not from before the first extract committed
    a run (it would answer "0 rows"), and not one whose files ``optimize`` has deleted (those
    were removed on purpose: not damage for ``--repair``)."""
    if table == "runs" and had_rows and not dt.file_uris():
        raise ConfigError(
            f"--as-of {_when(as_of)}: no run had been extracted yet then (before the first extract "
            f"committed any); give a later version or time (the runs table is at version {latest})"
        )
    if store.remote:
        return
    gone = [f for f in dt.file_uris() if not os.path.exists(f)]
    if gone:
        raise ConfigError(
            f"--as-of {_when(as_of)}: {table} as it stood then needs {len(gone)} data file(s) that "
            "`optimize` has since deleted (time travel reaches back --retain-days); give a "
            f"later version or time ({table} is at version {latest})"
        )


def _commit_ms(dt: DeltaTable, version: int) -> int:
    """Commit time (ms) of ``version`` (history lists the whole log, newest first)."""
    for c in dt.history():
        if int(c.get("version", version)) == version:
            return int(c["timestamp"])
    raise DataError(f"--as-of {version}: the runs table has no such version")


def empty_sql(table: str) -> str:
    """An empty relation with ``table``'s columns and types (a table not written yet)."""
    cols = [f"cast(null as {_duck_type(t)}) as {c}" for c, t in table_schema(table).items()]
    return f"(select {', '.join(cols)} limit 0)"


def source_sql(con: ddb.DuckDBPyConnection, table: str, dt: DeltaTable | None, remote: bool) -> str:
    """What a staging view reads for ``table``: the snapshot's data files (local), an Arrow
    dataset of the snapshot (object storage), or an empty typed relation. Columns the
    contract has but the files lack (added after they were written) come as nulls."""
    if dt is None:
        return empty_sql(table)
    if remote:
        name = f"_delta_{table}"
        con.register(name, dt.to_pyarrow_dataset(as_large_types=True))
        rel = name
    else:
        files = dt.file_uris()
        if not files:
            return empty_sql(table)
        listed = ", ".join(_literal(f) for f in files)
        rel = f"read_parquet([{listed}], union_by_name = true)"
    have = {f.name for f in dt.schema().fields}
    missing = [
        f"cast(null as {_duck_type(t)}) as {c}"
        for c, t in table_schema(table).items()
        if c not in have
    ]
    return f"(select *{''.join(', ' + m for m in missing)} from {rel})"


def _open(data_dir: str | Path) -> Store:
    hint = f"run `cekura-analytics extract --data-dir {data_dir}` first"
    if not is_remote(data_dir):
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataError(f"data dir {data_dir} does not exist: {hint}")
    refuse_old_layout(data_dir)
    store = Store(data_dir)
    if not any(store.table(t) is not None for t in EXTRACTED):
        raise DataError(f"data dir {data_dir} holds no extracted tables: {hint}")
    return store


def connect(
    data_dir: str | Path,
    rules: str | Path | None = None,
    *,
    database: str = ":memory:",
    as_of: str | int | datetime | None = None,
) -> ddb.DuckDBPyConnection:
    """A DuckDB connection with every view of ``sql/`` registered over ``data_dir``.

    The views read one committed snapshot of the Delta tables, the latest or the one
    ``as_of`` names (a ``runs`` version or a timestamp, see :func:`snapshot`); the table
    ``table_versions`` says which version of each table that is.
    ``rules`` is a TOML rules file (default: ``<data_dir>/cekura-analytics.toml`` if present).
    ``database`` may name a file: the views are then stored in it (see :func:`duckdb`).
    An in-memory connection over a local data dir reads the views and the :data:`PINNED`
    relations from the data dir's cache for its snapshot and rules (:mod:`.cache`), built
    on first use; objects you create go to its own ``main`` schema.
    Raises :class:`DataError` for a missing or empty data dir, :class:`ConfigError` for a bad
    rules file or as-of value, :class:`StoreError` for an unreadable table.
    """
    when = parse_as_of(as_of)
    store = _open(data_dir)
    local_rules = rules_path(store.uri if not store.remote else "/nonexistent", rules)
    parsed = load_rules(local_rules)
    snap = snapshot(store, when)
    con = ddb.connect(database)
    try:
        _session(con)
        sources = {t: source_sql(con, t, dt, store.remote) for t, dt in snap.items()}
        build = _Build(store, snap, when, parsed.rows(), list(view_statements(sources)), sources)
        folder = (
            Path(store.uri) / CACHE_DIR if database == ":memory:" and not store.remote else None
        )
        cached = cached_views(folder, build.key(), build.file) if folder is not None else None
        if cached is None or not _attached(con, cached):
            # a database file, object storage, no writable cache: views of its own
            build.into(con, temp=database == ":memory:")
        warn_unmatched_rules(con, parsed)
    except BaseException:
        con.close()
        raise
    return con


#: the name a connection gives the cached views' database it attaches
SNAPSHOT_DB = "snapshot"


def _attached(con: ddb.DuckDBPyConnection, path: Path) -> bool:
    """Attach the cached views read-only, behind the connection's own schema; False if the
    file went away meanwhile (another process's prune)."""
    try:
        con.execute(f"attach {_literal(str(path))} as {SNAPSHOT_DB} (read_only)")
    except ddb.Error as exc:
        log.debug("cached views %s not attached: %s", path, exc)
        return False
    con.execute(f"set search_path = 'memory.main,{SNAPSHOT_DB}.main'")
    return True


def _session(con: ddb.DuckDBPyConnection) -> None:
    """The settings every connection runs with (they belong to the connection, not to a
    database file, so a connection reading cached views sets them too)."""
    # no progress bar on stdout; inside Jupyter without ipywidgets DuckDB refuses to change it
    with contextlib.suppress(ddb.Error):
        con.execute("set enable_progress_bar = false")
    con.execute("set TimeZone = 'UTC'")  # timestamps given as text without an offset: UTC
    # the snapshot's data files never change (Delta writes new files): read each file's
    # footer once per connection, not once per query that binds the views
    con.execute("set parquet_metadata_cache = true")
    for name, value in OUTLIER_SETTINGS.items():  # the outlier_settings view reads these
        con.execute(f"set variable outlier_{name} = ?", [value])


@dataclass(frozen=True)
class _Build:
    """What the views of one connection are made of: the snapshot, the rules, the texts."""

    store: Store
    snap: Mapping[str, DeltaTable | None]
    when: int | datetime | None
    rules: list[tuple[Any, ...]]
    statements: list[tuple[Path, str]]
    sources: Mapping[str, str]

    def key(self) -> str:
        """The cache key: every input of the views (the texts name the snapshot's files)."""
        return cache_key(self.snap, self.rules, [python_macros(), *(t for _, t in self.statements)])

    def file(self, con: ddb.DuckDBPyConnection) -> None:
        """Build the views into a new database file (the cache's)."""
        _session(con)
        self.into(con, temp=False)

    def into(self, con: ddb.DuckDBPyConnection, *, temp: bool) -> None:
        """Define every view on ``con``, the settings tables filled first, and compute each
        :data:`PINNED` relation as soon as it is defined (a temporary table if ``temp``)."""
        con.execute(python_macros())
        setup = [(f, text) for f, text in self.statements if f.parent.name == "setup"]
        for f, text in setup:
            _define(con, self.store, f, text)
        try:
            con.execute(table_views_sql(self.sources))
        except ddb.Error as exc:
            raise _unreadable_or(self.store, exc, f"cannot read {self.store.uri}") from None
        if self.rules:
            con.executemany("insert into pass_rules values (?, ?, ?, ?)", self.rules)
        con.executemany(
            "insert into table_versions values (?, ?, ?)",
            [
                (t, dt.version() if dt else None, None if self.when is None else str(self.when))
                for t, dt in self.snap.items()
            ],
        )
        for f, text in [s for s in self.statements if s not in setup]:
            _define(con, self.store, f, text)
            name = f.stem.split("_", 1)[1]
            if name in PINNED:
                # pinned as soon as defined, so the views after it bind to a table rather
                # than to the tree of views below it
                try:
                    pin(con, name, temp=temp)
                except ddb.Error as exc:
                    raise _unreadable_or(
                        self.store, exc, f"{name}: cannot read {self.store.uri}"
                    ) from None


def _define(con: ddb.DuckDBPyConnection, store: Store, f: Path, text: str) -> None:
    try:
        con.execute(text)
    except ddb.Error as exc:
        raise _unreadable_or(store, exc, f"{f.name}: cannot define it over {store.uri}") from None


def view_statements(sources: Mapping[str, str]) -> Iterator[tuple[Path, str]]:
    """Each ``sql/`` file and its statement over ``sources`` (``{runs}`` -> what to read)."""
    for f in sql_files():
        yield f, _PLACEHOLDER.sub(lambda m: sources[m.group(1)], f.read_text(encoding="utf-8"))


def table_views_sql(sources: Mapping[str, str]) -> str:
    """A view per extracted table under the table's own name (``runs``, ``run_metrics``, ...):
    its rows and columns as stored, as the README and ``lake/tables.py`` describe them."""
    return "".join(
        f"create or replace view {t} as select * from {sources[t]};\n" for t in EXTRACTED
    )


#: rules-file warnings already given in this process (a notebook connects many times)
_WARNED: set[str] = set()


def warn_unmatched_rules(con: ddb.DuckDBPyConnection, rules: Rules) -> None:
    """Warn (once per process, one line each) about rules-file keys that name no metric;
    never fails the connection over it."""
    if not rules.rows():
        return
    try:
        metrics = con.execute("select metric_id, metric_name from metric_catalog").fetchall()
    except ddb.Error:
        return
    for line in unmatched_keys(rules, metrics):
        if line not in _WARNED:
            _WARNED.add(line)
            log.warning("warning: %s", line)


#: what a question can be asked of: a data dir (a connection is opened for it and closed
#: after), or a connection from :func:`connect` (its snapshot, left open) so that several
#: questions (a report) read one snapshot
Source = str | Path | ddb.DuckDBPyConnection


@contextlib.contextmanager
def opened(
    source: Source,
    rules: str | Path | None = None,
    *,
    as_of: str | int | datetime | None = None,
) -> Iterator[ddb.DuckDBPyConnection]:
    """A connection for ``source``: the connection itself, or one over a data dir that is
    closed when the block ends."""
    if isinstance(source, ddb.DuckDBPyConnection):
        if rules is not None or as_of is not None:
            raise ConfigError(
                "rules and as_of are chosen when the connection is made: pass them to connect()"
            )
        yield source
        return
    con = connect(source, rules, as_of=as_of)
    try:
        yield con
    finally:
        con.close()


def _unreadable_or(store: Store, exc: BaseException, context: str) -> StoreError:
    """A damaged data file named in one line, else ``context`` and DuckDB's first line."""

    text = str(exc)
    for table in TABLES:
        if f"/{table}/" in text:
            err = unreadable(store, table, exc)
            if "data file" in str(err):
                return err
    return StoreError(f"{context}: {first_line(exc)}")


def fetch(
    con: ddb.DuckDBPyConnection,
    statement: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Run one statement on ``con``; the result as polars (empty frame for statements
    without rows). SQL errors become :class:`DataError`."""
    try:
        rel = con.sql(statement, params=params)
        return rel.pl() if rel is not None else pl.DataFrame()
    except ddb.Error as exc:
        gone = missing_file_in(str(exc))  # vacuumed since connect(), or deleted: say which
        if gone:
            raise DataError(f"SQL failed: {gone}") from None
        if "parquet" in str(exc).lower() and "/_delta" not in str(exc):
            hint = (
                "a data file may be damaged: `cekura-analytics extract --repair` fetches it again"
            )
            raise DataError(f"SQL failed: {first_line(exc)} ({hint})") from None
        raise DataError(f"SQL failed: {first_line(exc)}") from None


def query(
    data_dir: Source,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
    *,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """Run ``sql`` over the views of ``data_dir`` (as of ``as_of``); user values go in
    ``params`` (``?`` with a list, ``$name`` with a dict), never into the SQL text."""
    with opened(data_dir, rules, as_of=as_of) as con:
        return fetch(con, sql, params)


def duckdb(data_dir: str | Path, out: str | Path, *, rules: str | Path | None = None) -> Path:
    """Write a DuckDB database file holding every view (over the snapshot's data files).

    Open it with Python's duckdb, the duckdb shell or a BI tool. The views list the data
    files of the snapshot taken now, by absolute path (DuckDB would resolve relative ones
    against the reader's working directory, not the file's): the file must stay on the
    machine that holds the data dir, and be written again after the data dir moves, after an
    extract (or an optimize, which removes old files), or to pick up a changed rules file.
    Local data dirs only.
    """
    if is_remote(data_dir):
        raise ConfigError(
            "duckdb export needs a local --data-dir: views over object storage read Arrow "
            "datasets that a database file cannot hold"
        )
    target = Path(out).expanduser().resolve()
    if target.is_dir():
        raise ConfigError(f"--out {out} is a directory: give a file name such as views.duckdb")
    if not target.parent.is_dir():
        raise ConfigError(f"--out {out}: directory {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.tmp")
    for p in (tmp, Path(str(tmp) + ".wal")):
        p.unlink(missing_ok=True)
    con = connect(data_dir, rules, database=str(tmp))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(tmp, target)
    return target


__all__ = [
    "connect",
    "duckdb",
    "fetch",
    "parse_as_of",
    "query",
    "snapshot",
    "source_sql",
    "sql_files",
    "view_names",
]
