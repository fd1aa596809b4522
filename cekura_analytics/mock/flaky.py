"""Planted flakiness, for tests: every scenario x metric x agent version cell with its planted
pass probability (:func:`catalog.pass_probability`) and what the mock's runs realise in it.

A cell is ``stable_pass`` (probability 1: it never fails), ``stable_fail`` (0: it never
passes) or ``flaky`` (in between: repeats can go either way, and do when there are enough of
them). ``GET /_mock/flaky`` gives :func:`flaky_truth`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from . import catalog as C
from . import wire as W
from .data import COMPLETED, TIMEOUT, MockData

STABLE_PASS, STABLE_FAIL, FLAKY = "stable_pass", "stable_fail", "flaky"


def kind(p: float) -> str:
    """The kind of a cell with planted pass probability ``p``."""
    return STABLE_PASS if p == 1.0 else STABLE_FAIL if p == 0.0 else FLAKY


def planted_cells() -> pl.DataFrame:
    """Every (scenario, metric, version of the scenario's agent) with its planted probability;
    the version as a catalogue index (``ver``), a history-record id (``agent_version_id``, v1
    reads) and a name (``version_name``, v2 reads)."""
    rows = []
    for si, sc in enumerate(C.SCENARIOS):
        agent = C.AGENTS[sc.agent_idx]
        names = {vid: f"v{k + 1}" for k, (vid, _) in enumerate(agent.versions)}
        for mi in sc.metric_idx:
            m = C.METRICS[mi]
            for vi, (ai, vid) in enumerate(C.VERSIONS):
                if ai == sc.agent_idx:
                    p = C.pass_probability(mi, si, vi)
                    rows.append((si, mi, vi, sc.id, sc.name, m.id, m.name, agent.id, vid,
                                 names[vid], p, kind(p)))  # fmt: skip
    cols = ["scen", "metric", "ver", "scenario_id", "scenario_name", "metric_id", "metric_name",
            "agent_id", "agent_version_id", "version_name", "pass_probability", "kind"]  # fmt: skip
    return pl.DataFrame(rows, schema=cols, orient="row")


def observed_cells(data: MockData) -> pl.DataFrame:
    """``scen, metric, ver, n_runs, n_passed``: evaluated runs (completed or timed out) per
    cell, leaving out the ~2 % of results that carry no agent version on the wire."""
    with data.lock:
        runs = data.runs.filter(pl.col("status").is_in([COMPLETED, TIMEOUT]))
    runs = runs.filter(W.versioned(data, runs["result"]))
    parts = []
    for mi in range(len(C.METRICS)):
        has = pl.Series([mi in sc.metric_idx for sc in C.SCENARIOS])
        sub = runs.filter(has.gather(runs["scen"].cast(pl.Int64)))
        parts.append(
            sub.group_by("scen", "ver").agg(
                metric=pl.lit(mi),
                n_runs=pl.len(),
                n_passed=((pl.col("bits").cast(pl.Int64) // (1 << mi)) % 2).sum(),
            )
        )
    return pl.concat(parts).select(
        pl.col("scen").cast(pl.Int64), pl.col("metric").cast(pl.Int64),
        pl.col("ver").cast(pl.Int64), pl.col("n_runs").cast(pl.Int64),
        pl.col("n_passed").cast(pl.Int64),
    )  # fmt: skip


def flaky_truth(data: MockData) -> list[dict[str, Any]]:
    """Every planted cell with ``pass_probability``, ``kind`` and the realised ``n_runs`` /
    ``n_passed`` (0 where no run fell), ordered by scenario, metric and version."""
    cells = planted_cells().join(observed_cells(data), on=["scen", "metric", "ver"], how="left")
    return (
        cells.with_columns(pl.col("n_runs", "n_passed").fill_null(0))
        .sort("scen", "metric", "ver")
        .drop("scen", "metric", "ver")
        .to_dicts()
    )


__all__ = ["FLAKY", "STABLE_FAIL", "STABLE_PASS", "flaky_truth", "kind", "observed_cells",
           "planted_cells"]  # fmt: skip
