"""Python twins of the pass-rate views: any grouping, a scope; and the runs behind them.

Every function reads the views of :mod:`cekura_analytics.views` (so the pass rule and the
rules file apply exactly as in SQL) and returns a polars DataFrame. (``views`` re-exports
them, so it is imported inside the functions.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

import polars as pl

from ..scope import Scope, check_agent, scope_sql
from ..warehouse.connection import Source, fetch, opened
from ..warehouse.families import METRIC_RESULTS, metric_source, rates_sql
from ..warehouse.families import Source as FamilySource


def scoped_source(by: str | Iterable[str], *, timed: bool) -> tuple[FamilySource, str]:
    """What a grouping's metric counts are read from, and the scope's SQL condition over it
    (``$since``, ``$agent_id``): the counted cells unless the scope starts at a time
    (``timed``), then the single results."""
    source = metric_source(by, timed=timed)
    return source, scope_sql(timed=source is METRIC_RESULTS)


def pass_rates_sql(
    by: str | Iterable[str] = ("metric", "personality"), scope: Scope | None = None
) -> str:
    """The SQL :func:`pass_rates` runs (parameters ``$since`` and ``$agent_id``) for
    ``scope``: over the counted cells unless the scope starts at a time (or is unknown)."""
    source, where = scoped_source(by, timed=scope is None or scope.since is not None)
    return rates_sql(by, source, where=where)


def pass_rates(
    data_dir: Source,
    by: str | Sequence[str] = ("metric", "personality"),
    since: str | date | datetime | None = None,
    agent_id: int | str | None = None,
    *,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """Metric pass rates grouped by ``by`` (metric, personality, language, scenario, agent,
    agent_version, day, result), with Wilson 95 % intervals.

    ``since``: only results of runs at or after this UTC date/time; ``agent_id``: one agent;
    ``as_of``: the data as it stood then (a runs table version or a timestamp).
    Same columns as the ``pass_rates_by_*`` views: ``by=("metric",)`` equals
    ``pass_rates_by_metric``.
    """

    scope = Scope.of(since, agent_id)  # bad input fails before anything is read
    statement = pass_rates_sql(by, scope)
    with opened(data_dir, rules, as_of=as_of) as con:
        check_agent(con, scope.agent_id)
        return fetch(con, statement, scope.params())


def version_changes(
    data_dir: Source,
    *,
    since: str | date | datetime | None = None,
    agent_id: int | str | None = None,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """First UTC day each agent version was seen in scope: ``agent_id, agent_version, day``."""
    scope = Scope.of(since, agent_id)
    with opened(data_dir, rules, as_of=as_of) as con:
        check_agent(con, scope.agent_id)
        return fetch(
            con,
            "select agent_id, agent_version, min(day) as day from run_details"
            f" where agent_version is not null and {scope_sql()}"
            " group by agent_id, agent_version order by day, agent_id, agent_version",
            scope.params(),
        )


def run_durations(
    data_dir: Source,
    *,
    since: str | date | datetime | None = None,
    agent_id: int | str | None = None,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """``run_id, duration_s, success`` of the runs in scope (``run_details``)."""
    scope = Scope.of(since, agent_id)
    with opened(data_dir, rules, as_of=as_of) as con:
        check_agent(con, scope.agent_id)
        return fetch(
            con,
            "select run_id, duration_s, success from run_details"
            f" where duration_s is not null and {scope_sql()}",
            scope.params(),
        )


def last_day(data_dir: Source, *, as_of: str | int | datetime | None = None) -> date | None:
    """The UTC day of the newest run (None without runs): the day the data runs through."""
    with opened(data_dir, as_of=as_of) as con:
        day: date | None = con.execute("select max(day) from run_details").fetchall()[0][0]
        return day


__all__ = [
    "last_day",
    "pass_rates",
    "pass_rates_sql",
    "run_durations",
    "scoped_source",
    "version_changes",
]
