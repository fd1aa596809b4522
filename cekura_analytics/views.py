"""DuckDB views over the extracted parquet: ``connect``, ad-hoc SQL, a database file.

Every view is defined in ``sql/NN_<view>.sql`` (one per file, run in file-name order).
Staging views (``10``-``19``) read ``<data_dir>/<table>/*.parquet`` through a placeholder
(``{runs}``, ``{run_metrics}``, ...) that :func:`connect` replaces by a ``read_parquet`` glob,
so parts the extractor adds later are seen by the next query without rebuilding anything.
A table with no part yet is replaced by an empty relation with the columns of
:mod:`cekura_analytics.tables` (a later part of it is seen by the next :func:`connect`).
Both forms carry a ``filename`` column (the part a row came from). ``{<table>_files}`` lists
a table's part files and ``{runs_parts}`` gives each runs part's run_id range from the
parquet statistics: the staging views use them to dedupe cheaply.

Connections run with ``TimeZone = 'UTC'`` (text timestamps without an offset are UTC) and
no progress bar. Two tables hold settings: ``pass_rules`` (the rules file, see :mod:`.passing`) and
``outlier_settings`` (the thresholds of the ``outlier_runs`` view).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb as ddb  # the module; duckdb() below writes a database file
import polars as pl

from . import tables
from ._compat import deprecated_alias
from .errors import ConfigError, DataError, StoreError
from .resources import resource_path
from .rules import load_rules, rules_path
from .tables import SCHEMAS

#: where the view definitions live (inside the package)
SQL_DIR = resource_path("sql")
FORMATS = ("table", "csv", "json", "parquet")


def source_schemas() -> dict[str, dict[str, pl.DataType]]:
    """Tables a view may read through a ``{table}`` placeholder: the extractor's tables
    plus the improve-job ledger (written by :mod:`cekura_analytics.ledger`) and the
    failure-mode tables (:mod:`cekura_analytics.failure_modes`)."""
    out = dict(SCHEMAS)
    jobs = getattr(tables, "IMPROVE_JOBS", None)
    if jobs:
        out["improve_jobs"] = jobs
    out |= getattr(tables, "FAILURE_MODE_TABLES", {})  # written by failure_modes
    return out


#: ``{table}`` -> the table's rows; ``{table_files}`` -> its part files (``part_path``, from a
#: directory listing); ``{runs_parts}`` -> one row per runs part with its run_id range from
#: the parquet statistics (no data read)
_PLACEHOLDER = re.compile(
    r"\{("
    + "|".join([*source_schemas(), *(f"{t}_files" for t in source_schemas()), "runs_parts"])
    + r")\}"
)


def sql_dir() -> Path:
    """The directory holding the ``NN_<view>.sql`` files."""
    if not any(SQL_DIR.glob("*.sql")):
        raise DataError(f"no view definitions found in {SQL_DIR}: reinstall cekura-analytics")
    return SQL_DIR


def sql_files() -> list[Path]:
    """The view definitions in dependency (file-name) order."""
    return sorted(sql_dir().glob("[0-9]*.sql"))


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


def source_sql(data_dir: Path, table: str) -> str:
    """What a staging view reads for ``table``: a parquet glob, or an empty typed relation.

    Both have the table's columns plus ``filename`` (the part file a row came from)."""
    if any((data_dir / table).glob("*.parquet")):
        pattern = (data_dir / table / "*.parquet").as_posix()
        return f"read_parquet({_literal(pattern)}, union_by_name = true, filename = true)"
    schema = source_schemas()[table]
    cols = [f"cast(null as {_duck_type(t)}) as {c}" for c, t in schema.items()]
    cols.append("cast(null as varchar) as filename")
    return f"(select {', '.join(cols)} limit 0)"


def files_sql(data_dir: Path, table: str) -> str:
    """``part_path`` of every part file of ``table`` (listing only, no file is opened)."""
    if any((data_dir / table).glob("*.parquet")):
        pattern = _literal((data_dir / table / "*.parquet").as_posix())
        return f"(select file as part_path from glob({pattern}))"
    return "(select cast(null as varchar) as part_path limit 0)"


def parts_sql(data_dir: Path, table: str = "runs", key: str = "run_id") -> str:
    """``part_path, min_<key>, max_<key>`` per part file, from parquet statistics only
    (null bounds when a row group has no statistics)."""
    if any((data_dir / table).glob("*.parquet")):
        pattern = _literal((data_dir / table / "*.parquet").as_posix())
        return (
            f"(select file_name as part_path,"
            f" case when bool_and(stats_min_value is not null)"
            f" then min(try_cast(stats_min_value as bigint)) end as min_{key},"
            f" case when bool_and(stats_max_value is not null)"
            f" then max(try_cast(stats_max_value as bigint)) end as max_{key}"
            f" from parquet_metadata({pattern}) where path_in_schema = {_literal(key)}"
            f" group by file_name)"
        )
    return (
        f"(select cast(null as varchar) as part_path, cast(null as bigint) as min_{key},"
        f" cast(null as bigint) as max_{key} limit 0)"
    )


def _check_data_dir(data_dir: str | Path) -> Path:
    path = Path(data_dir).expanduser().resolve()
    hint = f"run `cekura-analytics extract --data-dir {data_dir}` first"
    if not path.is_dir():
        raise DataError(f"data dir {data_dir} does not exist: {hint}")
    if re.search(r"[*?\[\]]", str(path)):
        raise DataError(f"data dir {path}: a path with * ? [ or ] cannot be globbed; rename it")
    if not any(any((path / t).glob("*.parquet")) for t in SCHEMAS):
        raise DataError(f"data dir {data_dir} holds no extracted tables (no */*.parquet): {hint}")
    return path


def connect(
    data_dir: str | Path,
    rules: str | Path | None = None,
    *,
    database: str = ":memory:",
) -> ddb.DuckDBPyConnection:
    """A DuckDB connection with every view of ``sql/`` registered over ``data_dir``.

    ``rules`` is a TOML rules file (default: ``<data_dir>/cekura-analytics.toml`` if present).
    ``database`` may name a file: the views are then stored in it (see :func:`duckdb`).
    Raises :class:`DataError` for a missing or empty data dir, :class:`ConfigError` for a bad
    rules file.
    """
    path = _check_data_dir(data_dir)
    parsed = load_rules(rules_path(path, rules))
    sources = {t: source_sql(path, t) for t in source_schemas()}
    sources |= {f"{t}_files": files_sql(path, t) for t in source_schemas()}
    sources["runs_parts"] = parts_sql(path)
    con = ddb.connect(database)
    try:
        # no progress bar on stdout; timestamps given as text without an offset mean UTC
        # inside Jupyter without ipywidgets DuckDB refuses to change this setting
        with contextlib.suppress(ddb.Error):
            con.execute("set enable_progress_bar = false")
        con.execute("set TimeZone = 'UTC'")
        for f in sql_files():
            text = _PLACEHOLDER.sub(lambda m: sources[m.group(1)], f.read_text(encoding="utf-8"))
            try:
                con.execute(text)
            except ddb.Error as exc:
                raise StoreError(
                    f"{f.name}: cannot define it over {path}: {_first_line(exc)}"
                ) from None
        rows = parsed.rows()
        if rows:
            con.executemany("insert into pass_rules values (?, ?, ?, ?)", rows)
    except BaseException:
        con.close()
        raise
    return con


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
        raise DataError(f"SQL failed: {_first_line(exc)}") from None


def query(
    data_dir: str | Path,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
    *,
    rules: str | Path | None = None,
) -> pl.DataFrame:
    """Run ``sql`` over the views of ``data_dir``; user values go in ``params``
    (``?`` with a list, ``$name`` with a dict), never into the SQL text."""
    con = connect(data_dir, rules)
    try:
        return fetch(con, sql, params)
    finally:
        con.close()


def render(df: pl.DataFrame, fmt: str = "table", out: str | Path | None = None) -> str:
    """``df`` as text (table, csv, json), or written to ``out``; returns what to print."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "parquet" and out is None:
        raise ConfigError("--format parquet needs --out FILE")
    if fmt == "table":
        with pl.Config(
            tbl_rows=-1,
            tbl_cols=-1,
            fmt_str_lengths=120,
            tbl_width_chars=240,
            fmt_table_cell_list_len=8,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
        ):
            text = str(df) + f"\n{df.height} row{'s' if df.height != 1 else ''}"
    elif fmt == "csv":
        flat = df.with_columns(
            pl.col(c).cast(pl.List(pl.String)).list.join("; ")
            for c, t in df.schema.items()
            if isinstance(t, pl.List)
        )
        text = flat.write_csv()
    elif fmt == "json":
        text = df.write_json()
    if out is None:
        return text
    out = Path(out)
    if fmt == "parquet":
        df.write_parquet(out)
    else:
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return f"wrote {df.height} rows to {out}"


def sql(
    data_dir: str | Path,
    statement: str,
    params: Mapping[str, Any] | Sequence[Any] | None = None,
    *,
    fmt: str = "table",
    out: str | Path | None = None,
    rules: str | Path | None = None,
) -> str:
    """What ``cekura-analytics sql`` prints: ``statement`` run over the views, rendered."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return render(query(data_dir, statement, params, rules=rules), fmt, out)


def duckdb(data_dir: str | Path, out: str | Path, *, rules: str | Path | None = None) -> Path:
    """Write a DuckDB database file holding every view (over absolute parquet globs).

    Open it with the duckdb shell or a BI tool; views read the parquet at query time, so
    new parts show up. The rules and outlier settings are copied in as tables; rerun to
    pick up a changed rules file or a table that had no parts yet.
    """
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
    "FORMATS",
    "connect",
    "duckdb",
    "export_duckdb",
    "fetch",
    "query",
    "render",
    "source_sql",
    "sql",
    "sql_files",
    "view_names",
]


export_duckdb = deprecated_alias(duckdb, "export_duckdb")
