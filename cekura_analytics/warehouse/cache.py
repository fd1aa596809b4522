"""The data dir's cache of pinned relations: computed once per snapshot and rules, read after.

A pinned relation (``metric_cells``: every metric result counted per metric × scenario ×
personality × language × agent version) takes one pass over the snapshot's results, about
two seconds at a million runs; reading it back takes milliseconds. The file's name carries a
key of everything the relation depends on: each table's Delta identity and version, the pass
rules, the view definitions and the DuckDB version, so a new extract, another rules file or
a changed view never reads an old file. The cache lives in ``<data dir>/.cache/`` (local data
dirs only), keeps the newest :data:`KEEP` files per relation and is safe to delete at any
time; a cache that cannot be written (read-only dir, full disk) is skipped, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb as ddb
from deltalake import DeltaTable

log = logging.getLogger("cekura_analytics.warehouse")

#: the cache folder inside a local data dir
CACHE_DIR = ".cache"
#: files kept per relation (a few snapshots, e.g. the latest and an ``--as-of`` one)
KEEP = 4


def cache_key(
    snap: Mapping[str, DeltaTable | None], rules: Sequence[Sequence[object]], texts: Iterable[str]
) -> str:
    """A key of everything a pinned relation depends on: each table's identity and version,
    the pass-rules rows and the view definitions' texts (and DuckDB's version)."""
    h = hashlib.sha256(ddb.__version__.encode())
    for table, dt in sorted(snap.items()):
        ident = f"{dt.metadata().id}@{dt.version()}" if dt is not None else "-"
        h.update(f"{table}={ident}\n".encode())
    h.update(repr([tuple(r) for r in rules]).encode())
    for text in texts:
        h.update(text.encode())
    return h.hexdigest()[:32]


def pin(con: ddb.DuckDBPyConnection, name: str, folder: Path | None, key: str) -> None:
    """Make view ``name`` read a temporary table of its rows: from the cache file for ``key``
    when there is one, else computed (and then written to the cache, best effort)."""
    table = f"_pinned_{name}"
    path = folder / f"{name}-{key}.parquet" if folder is not None else None
    if path is not None and path.is_file():
        try:
            con.execute(f"create temp table {table} as select * from read_parquet(?)", [str(path)])
        except ddb.Error as exc:  # vanished or damaged since: compute it again
            log.debug("cache file %s unreadable (%s): recomputing", path, exc)
        else:
            _point(con, name, table)
            return
    con.execute(f"create or replace temp table {table} as select * from {name}")
    _point(con, name, table)
    if path is not None:
        _write(con, table, path)


def _point(con: ddb.DuckDBPyConnection, name: str, table: str) -> None:
    con.execute(f"create or replace view {name} as select * from temp.{table}")


def _write(con: ddb.DuckDBPyConnection, table: str, path: Path) -> None:
    """Write the table to ``path`` atomically (a unique temporary name, then a rename), then
    drop the relation's oldest files; any failure only costs the next reader a recompute."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"copy temp.{table} to '{_quoted(tmp)}' (format parquet)")
        os.replace(tmp, path)
        _prune(path)
    except (OSError, ddb.Error) as exc:
        log.debug("cache not written to %s: %s", path, exc)
        with contextlib.suppress(OSError):  # e.g. the cache path is not a folder
            tmp.unlink(missing_ok=True)


def _prune(path: Path) -> None:
    relation = path.name.rsplit("-", 1)[0]
    files = sorted(path.parent.glob(f"{relation}-*.parquet"), key=_mtime, reverse=True)
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)


def _mtime(f: Path) -> float:
    try:
        return f.stat().st_mtime
    except OSError:  # removed by another reader's prune meanwhile
        return 0.0


def _quoted(path: Path) -> str:
    # COPY takes no parameter for its target: a literal with quotes doubled
    return str(path).replace("'", "''")


__all__ = ["CACHE_DIR", "KEEP", "cache_key", "pin"]
