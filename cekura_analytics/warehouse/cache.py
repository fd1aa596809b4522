"""The data dir's cache of the views: built once per snapshot and rules, attached after.

Defining the views costs a connection about a second whatever the data's size (DuckDB binds
each view's whole tree), and the pinned relations (``metric_cells``: every metric result
counted per metric × scenario × personality × language × agent version) take a pass over
the snapshot's results, a few seconds at a million runs. Both are done once, into a DuckDB
database file that later connections attach read-only in milliseconds. The file's name
carries a key of everything the views depend on: each table's Delta identity and version,
the pass rules, the view definitions with the snapshot's file names (so the data dir's
place too) and the DuckDB version, so a new extract, another rules file or a changed view
never reads an old file. The cache lives in ``<data dir>/.cache/`` (local data dirs only),
keeps the newest :data:`KEEP` files and is safe to delete at any time; a cache that cannot
be written (read-only dir, full disk) or read (damaged) costs time, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import duckdb as ddb
from deltalake import DeltaTable

log = logging.getLogger("cekura_analytics.warehouse")

#: the cache folder inside a local data dir
CACHE_DIR = ".cache"
#: files kept (a few snapshots: the latest, an ``--as-of`` one, another rules file)
KEEP = 4


def cache_key(
    snap: Mapping[str, DeltaTable | None], rules: Sequence[Sequence[object]], texts: Iterable[str]
) -> str:
    """A key of everything the views depend on: each table's identity and version, the
    pass-rules rows and the view definitions' texts (and DuckDB's version)."""
    h = hashlib.sha256(ddb.__version__.encode())
    for table, dt in sorted(snap.items()):
        ident = f"{dt.metadata().id}@{dt.version()}" if dt is not None else "-"
        h.update(f"{table}={ident}\n".encode())
    h.update(repr([tuple(r) for r in rules]).encode())
    for text in texts:
        h.update(text.encode())
    return h.hexdigest()[:32]


def pin(con: ddb.DuckDBPyConnection, name: str, *, temp: bool) -> None:
    """Compute view ``name`` once into a table (temporary if ``temp``) and point the view at
    it: the snapshot and rules it depends on are fixed for the connection's life."""
    table = f"temp._pinned_{name}" if temp else f"_pinned_{name}"
    con.execute(f"create or replace {'temp ' if temp else ''}table _pinned_{name} as "
                f"select * from {name}")  # fmt: skip
    con.execute(f"create or replace view {name} as select * from {table}")


def cached_views(
    folder: Path, key: str, build: Callable[[ddb.DuckDBPyConnection], None]
) -> Path | None:
    """The cache's database file for ``key``, built with ``build`` if missing or damaged;
    ``None`` if it cannot be written (errors about the data itself are raised)."""
    path = folder / f"views-{key}.duckdb"
    if path.is_file():
        try:
            ddb.connect(str(path), read_only=True).close()
            return path
        except ddb.Error as exc:  # damaged: build it again
            log.debug("cache file %s unreadable (%s): rebuilding", path, exc)
    tmp = folder / f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        con = ddb.connect(str(tmp))
        try:
            build(con)
        finally:
            con.close()
        os.replace(tmp, path)
    except Exception as exc:
        if not isinstance(exc, OSError) and tmp.name not in str(exc):
            raise  # about the data (a damaged file, a bad rules file), not the cache
        log.debug("cache not written to %s: %s", path, exc)
        return None
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(OSError):  # e.g. the cache path is not a folder
                leftover.unlink(missing_ok=True)
    _prune(folder)
    return path


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("views-*.duckdb"), key=_mtime, reverse=True)
    for old in files[KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink(missing_ok=True)


def _mtime(f: Path) -> float:
    try:
        return f.stat().st_mtime
    except OSError:  # removed by another process's prune meanwhile
        return 0.0


__all__ = ["CACHE_DIR", "KEEP", "cache_key", "cached_views", "pin"]
