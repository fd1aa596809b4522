"""Query results as the user asked for them: a text table, CSV, JSON or a parquet file.

Every command that prints rows goes through :func:`render`; :func:`sql` is the ``sql``
command's twin (a statement over the views, rendered).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb as ddb
import polars as pl

from ..defaults import FORMATS
from ..errors import ConfigError
from ..warehouse.connection import query
from .text import visible_frame

if TYPE_CHECKING:
    from ..analysis.release_gate import GateResult


#: a CSV cell a spreadsheet would run as a formula starts with one of these (OWASP's list)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells a spreadsheet would run as formulas get a leading ``'`` (OWASP's rule for
    CSV injection); numbers stay numbers, so ``-3`` in a number column is untouched."""
    starts = "^[" + "".join(FORMULA_STARTS).replace("-", "\\-") + "]"
    return df.with_columns(
        pl.when(pl.col(c).str.contains(starts))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, t in df.schema.items()
        if t == pl.String
    )


def render(
    df: pl.DataFrame, fmt: str = "table", out: str | Path | None = None, *, raw: bool = False
) -> str:
    """``df`` as text (table, csv, json), or written to ``out``; returns what to print.

    Text from the API is untrusted: the table shows control characters as pictures, and CSV
    cells that a spreadsheet would run as formulas are neutralised unless ``raw``.
    """
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
            text = str(visible_frame(df)) + f"\n{df.height} row{'s' if df.height != 1 else ''}"
    elif fmt == "csv":
        flat = df.with_columns(
            pl.col(c).cast(pl.List(pl.String)).list.join("; ")
            for c, t in df.schema.items()
            if isinstance(t, pl.List)
        )
        text = (flat if raw else neutralise_formulas(flat)).write_csv()
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
    as_of: str | int | datetime | None = None,
    raw: bool = False,
) -> str:
    """What ``cekura-analytics sql`` prints: ``statement`` run over the views, rendered."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if not statement.strip():
        raise ConfigError("no SQL given: pass a statement, - to read it from stdin, or --file F")
    if isinstance(params, Mapping):
        check_params(statement, params)
    return render(query(data_dir, statement, params, rules=rules, as_of=as_of), fmt, out, raw=raw)


def check_params(statement: str, params: Mapping[str, Any]) -> None:
    """Every ``$name`` the statement uses has a value and every value is used, else a
    one-line :class:`ConfigError` naming the parameter (DuckDB's own parser finds them, so
    a ``'$x'`` inside a string literal is not one)."""
    try:
        parsed = ddb.extract_statements(statement)
    except ddb.Error:
        return  # a syntax error: running the statement reports it with DuckDB's words
    used = {name for s in parsed for name in s.named_parameters}
    if any(name.isdigit() for name in used):
        raise ConfigError(
            "the statement uses ? placeholders: write $NAME in the SQL and give --param NAME=VALUE"
        )
    unused = sorted(set(params) - used)
    if unused:
        where = ", ".join(f"${u}" for u in sorted(used)) or "no parameter"
        raise ConfigError(
            f"--param {unused[0]}: the statement has no ${unused[0]} (it uses {where}); "
            f"write ${unused[0]} where the value goes, or leave out --param {unused[0]}"
        )
    missing = sorted(used - set(params))
    if missing:
        raise ConfigError(
            f"the statement uses ${missing[0]}: give its value with --param {missing[0]}=VALUE"
        )


def gate_json(g: GateResult) -> str:
    """The gate as one JSON document: verdict, exit code, versions, settings, counts and every
    cell's numbers and status, worst first (a script's ``--format json``)."""
    cells = json.loads(g.frame().write_json())
    rank = {id(c): i for i, c in enumerate(g.worst_first())}
    order = {(c.metric_id, c.dimension_value): rank[id(c)] for c in g.cells}
    cells.sort(key=lambda r: order[(r["metric_id"], r["dimension_value"])])
    doc = {
        "passed": g.passed,
        "exit_code": g.exit_code,
        "agent_id": g.agent_id,
        "baseline": g.baseline,
        "candidate": g.candidate,
        "settings": g.settings,
        "n_cells": len(g.cells),
        "n_failed": len(g.failures),
        "n_insufficient": len(g.insufficient),
        "cells": cells,
    }
    return json.dumps(doc, indent=2)


def write_gate(
    g: GateResult, *, junit: str | Path | None = None, markdown: str | Path | None = None
) -> None:
    """Write the gate's JUnit XML and/or its Markdown comment to the given files."""
    from .junit import gate_junit
    from .markdown import gate_markdown

    for path, text in ((junit, gate_junit), (markdown, gate_markdown)):
        if path is None:
            continue
        target = Path(path)
        if target.is_dir():
            raise ConfigError(f"{path} is a directory: give a file name such as gate.xml")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text(g), encoding="utf-8")


__all__ = [
    "FORMATS",
    "check_params",
    "gate_json",
    "neutralise_formulas",
    "render",
    "sql",
    "write_gate",
]
