"""Failure modes: the explanations of each metric's failed results, clustered and stored.

:func:`failure_modes` reads the failed results (``metric_results.passed = false``) and their
explanations, groups each metric's explanations into modes (the algorithm and its parameters:
:mod:`cekura_analytics.mode_clustering`) and writes three tables through the store
(``failure_modes``, ``failure_mode_members``, ``failure_mode_vocab``; columns in
:mod:`cekura_analytics.tables`). Counts, weeks and splits are views over them (``sql/6x``).

A metric with stored modes is updated *incrementally*: members keep their mode, new failures
join the nearest mode or open new ones; ``recluster=True`` (or a metric never clustered)
rebuilds the metric's modes from scratch. ``since`` limits the failures looked at; for a
reclustered metric, members older than ``since`` are dropped (their modes are gone) and are
assigned again by the next run without ``since``. The modes and the vocabulary are committed
before the members, so a crash in between leaves modes without members, never members of an
unknown mode. Needs the ``modes`` extra (scikit-learn).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb as ddb
import polars as pl

from ..errors import ConfigError, DataError
from ..lake.maintenance import open_writer
from ..lake.store import Store
from ..lake.tables import FAILURE_MODE_MEMBERS, FAILURE_MODE_VOCAB, FAILURE_MODES
from ..scope import Scope, scope_sql
from ..warehouse.connection import Source, connect, fetch, query

if TYPE_CHECKING:  # numpy comes with the `modes` extra; imported where it is used
    import numpy as np

INSTALL_HINT = "failure modes need scikit-learn: pip install 'cekura-analytics[modes]'"


def _mc() -> Any:
    """The clustering module (imports scikit-learn), or a one-line error saying how to get it."""
    try:
        return importlib.import_module(".clustering", __package__)
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None


def load_failures(
    data_dir: str | Path,
    *,
    metric: str | int | None = None,
    since: Any = None,
    rules: str | Path | None = None,
) -> pl.DataFrame:
    """Failed results with their explanation: run_id, metric_id, metric_name, timestamp, text."""

    con = connect(data_dir, rules)
    try:
        df = fetch(
            con,
            "select r.run_id, r.metric_id, r.metric_name, r.timestamp,"
            " coalesce(m.explanation, '') as explanation"
            " from metric_results as r join stg_run_metrics as m using (run_id, metric_id)"
            " where r.passed = false"
            f" and {scope_sql('r.')} order by r.metric_id, r.run_id",
            Scope.of(since).params(),
        )
    finally:
        con.close()
    if metric is None:
        return df
    ids = _metric_ids(df, metric)
    return df.filter(pl.col("metric_id").is_in(ids))


def _metric_ids(df: pl.DataFrame, metric: str | int) -> list[int]:
    """``--metric``: an id or a name (case-insensitive); unknown -> a one-line error."""
    text = str(metric).strip()
    if text.isdigit():
        return [int(text)]
    names = df.select("metric_id", "metric_name").unique()
    hit = names.filter(pl.col("metric_name").str.to_lowercase() == text.lower())
    if hit.is_empty():
        known = ", ".join(sorted(n for n in names["metric_name"].to_list() if n))
        raise DataError(f"--metric {metric!r} has no failed results; metrics: {known or 'none'}")
    return [int(i) for i in hit["metric_id"]]


def mode_text(explanation: str, metric_name: str | None) -> str:
    """The part of an explanation that says *how*: without the emoji and the metric's name
    (both are in every explanation of the metric, so they only blur the modes)."""
    text = explanation.strip()
    if metric_name:
        text = re.sub(r"^\W*" + re.escape(metric_name) + r"\s*:\s*", "", text, flags=re.I)
    return text


def _read(store: Store, table: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return store.read(table, schema=schema)


def failure_modes(
    data_dir: str | Path,
    *,
    metric: str | int | None = None,
    since: Any = None,
    recluster: bool = False,
    seed: int = 0,
    rules: str | Path | None = None,
) -> pl.DataFrame:
    """Cluster (or update) the failure modes of every failing metric; the ``failure_modes`` view."""
    mc = _mc()
    failures = load_failures(data_dir, metric=metric, since=since, rules=rules)
    with open_writer(data_dir) as store:
        modes = _read(store, "failure_modes", FAILURE_MODES)
        members = _read(store, "failure_mode_members", FAILURE_MODE_MEMBERS)
        vocab = _read(store, "failure_mode_vocab", FAILURE_MODE_VOCAB)
        now = datetime.now(UTC)
        new_modes, new_members, new_vocab, done = [], [], [], []
        for (mid,), group in failures.group_by(["metric_id"], maintain_order=True):
            old = modes.filter(pl.col("metric_id") == mid)
            if recluster or old.is_empty():
                got = _full(mc, int(mid), group, seed, now)
            else:
                got = _incremental(
                    mc,
                    int(mid),
                    group,
                    old,
                    members.filter(pl.col("metric_id") == mid),
                    vocab.filter(pl.col("metric_id") == mid),
                    seed,
                    now,
                )
            new_modes.append(got[0])
            new_members.append(got[1])
            new_vocab.append(got[2])
            done.append(mid)
        if done:
            keep = ~pl.col("metric_id").is_in(done)
            store.replace_table(
                "failure_modes", pl.concat([modes.filter(keep), *new_modes], how="vertical")
            )
            store.replace_table(
                "failure_mode_vocab", pl.concat([vocab.filter(keep), *new_vocab], how="vertical")
            )
            # members of a metric done now but outside the window stay when its modes stayed
            kept_modes = set(pl.concat([modes.filter(keep), *new_modes])["mode_id"].to_list())
            looked = failures.select("run_id", "metric_id")
            rest = members.join(looked, on=["run_id", "metric_id"], how="anti").filter(
                pl.col("mode_id").is_in(list(kept_modes))
            )
            store.replace_table(
                "failure_mode_members", pl.concat([rest, *new_members], how="vertical")
            )
    return modes_view(data_dir, metric_ids=[int(m) for m in done], rules=rules)


def modes_view(
    data_dir: Source,
    *,
    metric_ids: list[int] | None = None,
    rules: str | Path | None = None,
) -> pl.DataFrame:
    """The ``failure_modes`` view (all metrics, or ``metric_ids``), largest mode first."""
    df = query(data_dir, "select * from failure_modes", rules=rules)
    if metric_ids is not None:
        df = df.filter(pl.col("metric_id").is_in(metric_ids))
    return df


def modes_weekly(data_dir: Source, *, rules: str | Path | None = None) -> pl.DataFrame:
    """The ``failure_modes_weekly`` view: each mode's failed results per week."""
    return query(data_dir, "select * from failure_modes_weekly", rules=rules)


def _texts(group: pl.DataFrame) -> list[str]:
    return [
        mode_text(e, n) for e, n in zip(group["explanation"], group["metric_name"], strict=True)
    ]


def _mode_rows(
    mids: list[Any], group: pl.DataFrame, inv: np.ndarray, origin: str, now: datetime
) -> pl.DataFrame:
    """``failure_modes`` rows of fitted modes (``inv``: group row -> distinct text)."""
    first_row = {int(d): i for i, d in reversed(list(enumerate(inv)))}
    rows = []
    for m in mids:
        r = first_row[m.example]
        rows.append(
            {
                "mode_id": m.mode_id,
                "metric_id": int(group["metric_id"][r]),
                "metric_name": group["metric_name"][r],
                "label": m.label,
                "top_terms": m.top_terms,
                "example_run_id": int(group["run_id"][r]),
                "example_explanation": group["explanation"][r],
                "centre_terms": list(m.centre),
                "centre_weights": list(m.centre.values()),
                "floor": m.floor,
                "origin": origin,
                "created_at": now,
            }
        )
    return pl.DataFrame(rows, schema=FAILURE_MODES)


def _member_rows(
    group: pl.DataFrame, mode_ids: list[str], sims: np.ndarray, how: str, now: datetime
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "run_id": group["run_id"],
            "metric_id": group["metric_id"],
            "mode_id": mode_ids,
            "similarity": sims,
            "assigned_by": [how] * group.height,
            "assigned_at": [now] * group.height,
        },
        schema=FAILURE_MODE_MEMBERS,
    )


def _vocab_rows(mid: int, vocab: Any) -> pl.DataFrame:
    return pl.DataFrame(
        {"metric_id": [mid] * len(vocab.terms), "term": vocab.terms, "idf": vocab.idf},
        schema=FAILURE_MODE_VOCAB,
    )


def _assign_fitted(
    mc: Any, mid: int, group: pl.DataFrame, seed: int, how: str, now: datetime, vocab: Any = None
) -> tuple[pl.DataFrame, pl.DataFrame, Any]:
    """Fit modes on ``group``; (mode rows, member rows, vocab)."""
    import numpy as np

    vocab, fitted, inv = mc.fit_modes(mid, _texts(group), seed, vocab)
    n_distinct = int(inv.max()) + 1 if len(inv) else 0
    mode_of = np.empty(n_distinct, dtype=object)
    sim_of = np.zeros(n_distinct)
    for m in fitted:
        mode_of[m.members] = m.mode_id
        sim_of[m.members] = m.similarity
    ids, sims = mode_of[inv], sim_of[inv]
    origin = "cluster" if how == "cluster" else "incremental"
    return (
        _mode_rows(fitted, group, inv, origin, now),
        _member_rows(group, list(ids), sims, how, now),
        vocab,
    )


def _full(
    mc: Any, mid: int, group: pl.DataFrame, seed: int, now: datetime
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Rebuild one metric's modes from its failures."""
    modes, members, vocab = _assign_fitted(mc, mid, group, seed, "cluster", now)
    return modes, members, _vocab_rows(mid, vocab)


def _incremental(
    mc: Any,
    mid: int,
    group: pl.DataFrame,
    modes: pl.DataFrame,
    members: pl.DataFrame,
    vocab_df: pl.DataFrame,
    seed: int,
    now: datetime,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Keep members, put new failures in the nearest mode, open modes for the far ones."""
    import numpy as np

    vocab = mc.Vocab(vocab_df["term"].to_list(), vocab_df["idf"].to_numpy().copy())
    known = group.join(members, on=["run_id", "metric_id"], how="semi")
    kept = members.join(known.select("run_id", "metric_id"), on=["run_id", "metric_id"],
                        how="semi")  # fmt: skip
    new = group.join(members, on=["run_id", "metric_id"], how="anti")
    out_members = [kept]
    out_modes = [modes]
    if new.height:
        stored = [
            mc.Mode(r["mode_id"], r["label"], r["top_terms"],
                    dict(zip(r["centre_terms"], r["centre_weights"], strict=True)),
                    r["floor"], 0, np.empty(0), np.empty(0))
            for r in modes.iter_rows(named=True)
        ]  # fmt: skip
        best, sim, far = mc.assign(_texts(new), vocab, stored)
        near = ~far
        ids = [stored[b].mode_id for b in best[near]]
        out_members.append(_member_rows(new.filter(pl.Series(near)), ids, sim[near], "nearest",
                                        now))  # fmt: skip
        if far.any():
            m2, mem2, vocab = _assign_fitted(
                mc, mid, new.filter(pl.Series(far)), seed, "new_mode", now, vocab
            )
            taken = set(modes["mode_id"].to_list())
            clash = [i for i in m2["mode_id"].to_list() if i in taken]
            if clash:  # same heaviest terms as a stored mode: make the new id distinct
                fix = {i: f"{i}-n{now:%Y%m%d%H%M%S}" for i in clash}
                m2 = m2.with_columns(pl.col("mode_id").replace(fix))
                mem2 = mem2.with_columns(pl.col("mode_id").replace(fix))
            out_modes.append(m2)
            out_members.append(mem2)
    return (
        pl.concat(out_modes, how="vertical"),
        pl.concat(out_members, how="vertical"),
        _vocab_rows(mid, vocab),
    )


def representative_runs(
    data_dir: Source,
    per_mode: int,
    *,
    top_modes: int = 5,
    rules: str | Path | None = None,
    among: Collection[int] | None = None,
) -> pl.DataFrame:
    """The ``per_mode`` runs closest to the centre of each of the ``top_modes`` largest modes
    (a run is used once): run_id, mode_id, metric_id, label, n_failed. With ``among`` (e.g.
    one agent version's runs) only those runs count, and the largest modes are those with
    the most members among them."""

    if per_mode < 1 or top_modes < 1:
        raise ConfigError("--per-mode and --top-modes must be at least 1")
    modes = query(
        data_dir,
        "select mode_id, metric_id, label, n_failed from failure_modes"
        " where n_failed > 0 order by n_failed desc, mode_id",
        rules=rules,
    )
    if modes.is_empty():
        where = "this data dir" if isinstance(data_dir, ddb.DuckDBPyConnection) else data_dir
        raise DataError(f"no failure modes in {where}: run `cekura-analytics failure-modes`")
    members = query(
        data_dir,
        "select mode_id, run_id from failure_mode_members order by similarity desc, run_id",
        rules=rules,
    )
    if among is not None:
        members = members.filter(pl.col("run_id").is_in(list(among)))
        size = members.group_by("mode_id").len("n_among")
        modes = (
            modes.join(size, on="mode_id")
            .sort(["n_among", "n_failed", "mode_id"], descending=[True, True, False])
            .drop("n_among")
        )
    modes = modes.head(top_modes)
    used: set[int] = set()
    rows = []
    for mode in modes.iter_rows(named=True):
        picked = 0
        for rid in members.filter(pl.col("mode_id") == mode["mode_id"])["run_id"]:
            if picked == per_mode:
                break
            if rid not in used:
                used.add(rid)
                rows.append({"run_id": rid, **mode})
                picked += 1
    return pl.DataFrame(rows)
