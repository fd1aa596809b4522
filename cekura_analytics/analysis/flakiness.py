"""Flaky scenarios: which scenario × metric × agent version cells flip between pass and fail
when run again, and per metric how many always pass, flip or always fail.

A pass rate of 80 % can be two agents: 80 % of scenarios always passing and 20 % always
failing (a fix to find), or every scenario passing 80 % of the time (a reliability problem).
:func:`flaky` tells them apart; it is the twin of the ``flaky_*`` views
(:func:`~cekura_analytics.warehouse.families.flaky_sql`) with a scope and a metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..defaults import FLAKY_BY
from ..errors import ConfigError, DataError
from ..scope import Scope, scope_sql
from ..warehouse.connection import Source, fetch, opened
from ..warehouse.families import (
    METRIC_RESULTS,
    choose_by,
    flaky_counts_sql,
    flaky_source,
    flaky_sql,
)

#: the condition of ``--metric`` (a name or an id) over a relation with metric_id / metric_name
METRIC_SQL = "($metric is null or metric_name = $metric or cast(metric_id as varchar) = $metric)"


def _flakiest_first(df: pl.DataFrame) -> pl.DataFrame:
    """Cells with both outcomes first, the closest to a coin flip (the larger minority
    outcome) first among them, then the most runs."""
    minority = pl.min_horizontal("n_passed", pl.col("n_runs") - pl.col("n_passed")) / pl.col(
        "n_runs"
    )
    keys = ["metric_id", "scenario_id", "agent_id", "agent_version"]
    return df.sort(
        [pl.col("is_flaky"), minority, pl.col("n_runs"), *keys],
        descending=[True, True, True, False, False, False, False],
        nulls_last=True,
    )


def flaky(
    data_dir: Source,
    by: str = FLAKY_BY[0],
    *,
    metric: str | int | None = None,
    since: str | date | datetime | None = None,
    agent_id: int | str | None = None,
    flaky_only: bool = False,
    limit: int | None = None,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """Flakiness of the runs in scope: per metric (``by="metric"``, ``"metric,agent_version"``,
    ``"metric,week"``) the shares of scenario cells that always passed (pass^k), flipped and
    always failed with scenario-clustered 95 % intervals; or the cells themselves
    (``"scenario"``, ``"scenario,week"``: counts, ``is_flaky``, the P/F ``outcomes`` in run
    order, the latest failed run), flakiest first.

    A cell is a scenario × metric × agent version with at least 2 evaluated runs.
    ``metric`` (name or id) keeps one metric; ``since`` / ``agent_id`` narrow the runs;
    ``flaky_only`` keeps flaky cells (cell rows only); ``limit`` keeps the first cells (cell
    rows only: the same rows as ``.head(limit)``, reading the results of those cells alone);
    ``as_of`` reads the data as it stood.
    """
    scope = Scope.of(since, agent_id)
    params = scope.params() | {"metric": None if metric is None else str(metric)}
    source = flaky_source(by, timed=scope.since is not None)
    where = f"{scope_sql(timed=source is METRIC_RESULTS)} and {METRIC_SQL}"
    per_cell = choose_by(by, FLAKY_BY, "flaky").startswith("scenario")
    if flaky_only and not per_cell:
        raise ConfigError("--flaky-only keeps flaky cells: use it with --by scenario")
    if limit is not None and not per_cell:
        raise ConfigError("a limit keeps the flakiest cells: use it with --by scenario")
    with opened(data_dir, rules, as_of=as_of) as con:
        if limit is not None and by == "scenario" and scope.since is None:
            # rank the cells on their counts (metric_cells), then read only their results:
            # the outcome sequences of every cell cost a pass over all results
            where, params = _of_cells(con, where, params, limit, flaky_only)
        df = fetch(con, flaky_sql(by, where, source), params)
    if metric is not None and df.is_empty():
        raise DataError(f"metric {metric!r} has no scenario run twice in scope")
    if "is_flaky" not in df.columns:
        return df
    df = _flakiest_first(df.filter(pl.col("is_flaky")) if flaky_only else df)
    return df if limit is None else df.head(limit)


def _of_cells(
    con: Any, where: str, params: dict[str, Any], limit: int, flaky_only: bool
) -> tuple[str, dict[str, Any]]:
    """``where`` narrowed to the results of the first ``limit`` cells in flakiest-first order
    (by their counts), and the parameters it needs."""
    counts = fetch(con, flaky_counts_sql(scope_sql(timed=False) + f" and {METRIC_SQL}"), params)
    counts = counts.with_columns(
        is_flaky=(pl.col("n_passed") > 0) & (pl.col("n_passed") < pl.col("n_runs"))
    )
    top = _flakiest_first(counts.filter(pl.col("is_flaky")) if flaky_only else counts).head(limit)
    # the metrics and scenarios of those cells: a superset of their results, cut to the cells
    # themselves by the ranking above (a cell outside them ranks after all of them)
    narrowed = (
        f"{where} and list_contains($top_metrics, metric_id)"
        " and list_contains($top_scenarios, scenario_id)"
    )
    return narrowed, params | {
        "top_metrics": top["metric_id"].unique().to_list(),
        "top_scenarios": top["scenario_id"].unique().to_list(),
    }


def flaky_scenarios_of(
    data_dir: Source,
    agent_id: int,
    metric_id: int,
    versions: Sequence[str],
) -> pl.DataFrame:
    """The ``flaky_scenarios`` rows of one agent's metric in these versions (e.g. a gate
    cell's baseline and candidate): ``scenario_id, scenario_name, agent_version, n_runs,
    n_passed, is_flaky, outcomes, example_failed_run_id``, by scenario then version.

    A scenario absent here ran fewer than twice in that version (nothing to call flaky).
    """
    with opened(data_dir) as con:
        return fetch(
            con,
            "select scenario_id, scenario_name, agent_version, n_runs, n_passed, is_flaky,"
            " outcomes, example_failed_run_id from flaky_scenarios"
            " where agent_id = $agent_id and metric_id = $metric_id"
            " and list_contains($versions, agent_version)"
            " order by scenario_id, agent_version",
            {"agent_id": agent_id, "metric_id": metric_id, "versions": [str(v) for v in versions]},
        )


__all__ = ["METRIC_SQL", "flaky", "flaky_scenarios_of"]
