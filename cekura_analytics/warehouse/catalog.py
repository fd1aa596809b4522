"""What there is to query: every table and view, its grain and its columns, with their docs.

The docs are the ones the code keeps anyway: a view's is the comment header of its
``sql/NN_<view>.sql`` file (its first line states the grain), a table's grain is in the
registry of :mod:`cekura_analytics.lake.tables` and its columns' docs are the comments beside
them there. Column names and types come from DuckDB itself: every view is defined over empty
tables, so no data dir is needed (``tables`` works before the first extract).
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb as ddb
import polars as pl

from ..errors import ConfigError
from ..lake import tables as registry
from ..lake.tables import EXTRACTED, TABLES
from .connection import (
    _duck_type,
    empty_sql,
    python_macros,
    table_views_sql,
    view_statements,
)

_CREATE = re.compile(r"create\s+or\s+replace\s+(view|table)\s+(\w+)", re.I)
#: ``"run_id": pl.Int64(),  # the comment`` in lake/tables.py
_COLUMN_DOC = re.compile(r'^\s*"(\w+)":\s*pl\.[^#\n]*#\s*(.+?)\s*$')


def _header(text: str) -> str:
    """The comment lines before the ``create`` statement, without ``--``."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return "\n".join(lines)


def _sql_entries() -> Iterator[tuple[str, str, str, str]]:
    """(name, kind, layer, header) of every view and settings table ``sql/`` defines."""
    for f, text in view_statements(dict.fromkeys(TABLES, "")):
        m = _CREATE.search(text)
        if m:
            yield m.group(2), m.group(1).lower(), f.parent.name, _header(text)


def _column_docs() -> dict[str, dict[str, str]]:
    """table -> column -> the comment beside it in lake/tables.py (where there is one)."""
    source = Path(registry.__file__).read_text(encoding="utf-8")
    by_var: dict[str, dict[str, str]] = {}
    current = None
    for line in source.splitlines():
        start = re.match(r"^([A-Z_]+): dict\[str, pl\.DataType\] = \{", line)
        if start:
            current = by_var.setdefault(start.group(1), {})
        elif line.startswith("}"):
            current = None
        elif current is not None and (m := _COLUMN_DOC.match(line)):
            current[m.group(1)] = m.group(2)
    names = {id(v): k for k, v in vars(registry).items() if isinstance(v, dict)}
    return {t: by_var.get(names.get(id(spec.schema), ""), {}) for t, spec in TABLES.items()}


@contextlib.contextmanager
def _empty_views() -> Iterator[ddb.DuckDBPyConnection]:
    """A connection with every view defined over empty tables (for names and types)."""
    con = ddb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(python_macros())
        sources = {t: empty_sql(t) for t in TABLES}
        for _, text in view_statements(sources):
            con.execute(text)
        con.execute(table_views_sql(sources))
        yield con
    finally:
        con.close()


def _entries() -> dict[str, tuple[str, str, str]]:
    """name -> (kind, layer, doc) of everything ``sql`` can query, tables first."""
    out = {t: ("table", "table", f"{TABLES[t].grain} (key: {', '.join(TABLES[t].key)})")
           for t in EXTRACTED}  # fmt: skip
    for name, kind, layer, doc in _sql_entries():
        out[name] = (kind, layer, doc)
    return out


#: what the columns every rate view shares mean (their SQL is generated, see warehouse.families)
RATE_COLUMNS = {
    "n_evaluated": "results with a verdict (passed or failed): the n of the rate",
    "n_passed": "results that passed",
    "n_unknown": "results no pass rule could decide: left out of the rate",
    "n_scenarios": "scenarios the results came from (runs of one scenario are alike)",
    "pass_rate": "n_passed / n_evaluated (0-1)",
    "ci_low": "95 % interval, low end: Wilson at the design-effect n, clustered by scenario",
    "ci_high": "95 % interval, high end",
    "design_effect": "how much repeats of a scenario shrink the information (1 = none)",
}

#: the order ``tables`` lists them in: the data, then the answers, then the plumbing
LAYERS = ("table", "marts", "intermediate", "staging", "setup")


def grain(doc: str) -> str:
    """The grain a header states first: ``one row per run × metric: the ...`` ->
    ``one row per run × metric``."""
    first = " ".join(doc.split("\n")[:2]) if doc else ""
    m = re.match(r"(one row[^:;,(]*?)\s*(?:[:;,(]|$)", first)
    return m.group(1) if m else first.split(":")[0]


def tables(name: str | None = None) -> pl.DataFrame:
    """Every table and view ``sql`` can query (name, kind, layer, grain, n_columns); with
    ``name``, that one's columns: column, type, doc."""
    entries = _entries()
    if name is not None and name not in entries:
        near = difflib.get_close_matches(name, list(entries), n=3)
        hint = f"did you mean {', '.join(near)}?" if near else "see `cekura-analytics tables`"
        raise ConfigError(f"no table or view named {name!r}: {hint}")
    with _empty_views() as con:
        if name is None:
            rows = []
            for n, (kind, layer, doc) in entries.items():
                n_columns = len(con.execute(f"describe {n}").fetchall())
                rows.append((n, kind, layer, grain(doc), n_columns))
            rows.sort(key=lambda r: LAYERS.index(r[2]))  # what people query first
            heads = ["name", "kind", "layer", "grain", "n_columns"]
            return pl.DataFrame(rows, schema=heads, orient="row")
        described = con.execute(f"describe {name}").fetchall()
    docs = _column_docs().get(name, {}) if entries[name][0] == "table" else RATE_COLUMNS
    # a table: the registry's types, as DuckDB names them
    spec = TABLES[name].schema if name in TABLES else {}
    types = {c: _duck_type(t) for c, t in spec.items()}
    return pl.DataFrame(
        [(c, types.get(c, str(t).lower()), docs.get(c, "")) for c, t, *_ in described],
        schema=["column", "type", "doc"],
        orient="row",
    )


def table_doc(name: str) -> str:
    """The doc of one table or view: its grain and what its header says."""
    entries = _entries()
    if name not in entries:
        tables(name)  # raises with the close matches
    kind, layer, doc = entries[name]
    return f"{name} ({kind}, {layer})\n" + "\n".join(f"  {ln}" for ln in doc.splitlines())


__all__ = ["table_doc", "tables"]
