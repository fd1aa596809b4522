"""Python twins of the pass-rate views: any grouping, a scope, a version comparison.

Every function reads the views of :mod:`cekura_analytics.views` (so the pass rule and the
rules file apply exactly as in SQL) and returns a polars DataFrame. (``views`` re-exports
them, so it is imported inside the functions.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import DataError
from ..scope import Scope, scope_sql
from ..warehouse.connection import Source, fetch, opened
from ..warehouse.families import rates_sql
from .stats import two_proportion_test, wilson_interval


def pass_rates_sql(by: str | Iterable[str] = ("metric", "personality")) -> str:
    """The SQL :func:`pass_rates` runs (parameters ``$since`` and ``$agent_id``)."""
    return rates_sql(by, where=scope_sql())


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

    statement = pass_rates_sql(by)
    params = Scope.of(since, agent_id).params()  # bad input fails before anything is read
    with opened(data_dir, rules, as_of=as_of) as con:
        return fetch(con, statement, params)


def _pick_versions(
    con: Any, agent_id: int | None, a: str | None, b: str | None
) -> tuple[int | None, str, str]:
    """(agent, older version, newer version) to compare; see :func:`compare_versions`."""

    seen = fetch(
        con,
        "select agent_id, agent_version, min(timestamp) as first_seen, count(*) as n"
        " from metric_results where agent_version is not null"
        " and ($agent_id is null or agent_id = cast($agent_id as bigint))"
        " group by all order by first_seen, agent_version",
        {"agent_id": agent_id},
    )
    if seen.is_empty():
        raise DataError("no metric results with an agent version to compare")
    wanted = [v for v in (a, b) if v is not None]
    per_agent = seen.group_by("agent_id").agg(
        pl.col("n").sum(), pl.col("agent_version").alias("versions")
    )
    per_agent = per_agent.filter(
        pl.col("versions").list.len() >= 2,
        *[pl.col("versions").list.contains(v) for v in wanted],
    ).sort(["n", "agent_id"], descending=[True, False])
    if per_agent.is_empty():
        which = f" with versions {' and '.join(map(repr, wanted))}" if wanted else ""
        scope = f"agent {agent_id}" if agent_id is not None else "any agent"
        raise DataError(f"{scope} has no two agent versions to compare{which}")
    agent = per_agent["agent_id"][0]
    versions = [str(v) for v in seen.filter(pl.col("agent_id") == agent)["agent_version"].to_list()]
    if a is None and b is None:
        a, b = versions[-2], versions[-1]
    elif a is None:
        earlier = versions[: versions.index(str(b))]
        if not earlier:
            raise DataError(f"version {b!r} is the agent's first: give --a to compare with")
        a = earlier[-1]
    elif b is None:
        later = [v for v in versions if v != a]
        b = later[-1]
    return agent, str(a), str(b)


def compare_versions(
    data_dir: Source,
    metric: str | int | None = None,
    a: str | None = None,
    b: str | None = None,
    *,
    agent_id: int | None = None,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """Per-metric pass rate of agent version ``a`` vs ``b`` with a two-proportion z test.

    The agent: ``agent_id``, else the one with the most metric results among those having
    the requested versions. Versions default to the agent's two most recently introduced
    (by first run): ``a`` the older, ``b`` the newer; only ``b`` given -> ``a`` is the version
    introduced just before it. ``metric`` (name or id) keeps one metric.

    Columns: ``metric_id, metric_name, agent_id, version_a, version_b, n_a, n_passed_a,
    pass_rate_a, ci_low_a, ci_high_a`` (same for ``_b``), ``change`` (b - a), ``z``,
    ``p_value`` (two-sided, pooled), sorted with the largest drop first.
    """

    with opened(data_dir, rules, as_of=as_of) as con:
        agent, va, vb = _pick_versions(con, agent_id, a, b)
        counts = fetch(
            con,
            "select metric_id, any_value(metric_name) as metric_name, agent_version,"
            " count(passed) as n, count(*) filter (where passed) as k from metric_results"
            " where agent_id is not distinct from $agent and agent_version in ($a, $b)"
            " and ($metric is null or metric_name = $metric"
            " or cast(metric_id as varchar) = $metric)"
            " group by metric_id, agent_version",
            {"agent": agent, "a": va, "b": vb, "metric": None if metric is None else str(metric)},
        )
    if metric is not None and counts.is_empty():
        raise DataError(f"metric {metric!r} has no results for versions {va!r} and {vb!r}")
    rows: dict[int, dict[str, Any]] = {}
    for r in counts.iter_rows(named=True):
        row = rows.setdefault(r["metric_id"], {"metric_name": r["metric_name"]})
        side = "a" if r["agent_version"] == va else "b"
        row[f"n_{side}"], row[f"k_{side}"] = int(r["n"]), int(r["k"])
    out = []
    for metric_id, r in rows.items():
        n_a, k_a, n_b, k_b = r.get("n_a", 0), r.get("k_a", 0), r.get("n_b", 0), r.get("k_b", 0)
        lo_a, hi_a = wilson_interval(k_a, n_a)
        lo_b, hi_b = wilson_interval(k_b, n_b)
        rate_a = k_a / n_a if n_a else None
        rate_b = k_b / n_b if n_b else None
        z, p = two_proportion_test(k_a, n_a, k_b, n_b)
        out.append(
            {
                "metric_id": metric_id,
                "metric_name": r["metric_name"],
                "agent_id": agent,
                "version_a": va,
                "version_b": vb,
                "n_a": n_a,
                "n_passed_a": k_a,
                "pass_rate_a": rate_a,
                "ci_low_a": lo_a,
                "ci_high_a": hi_a,
                "n_b": n_b,
                "n_passed_b": k_b,
                "pass_rate_b": rate_b,
                "ci_low_b": lo_b,
                "ci_high_b": hi_b,
                "change": None if rate_a is None or rate_b is None else rate_b - rate_a,
                "z": z,
                "p_value": p,
            }
        )
    schema = {
        "metric_id": pl.Int64,
        "metric_name": pl.String,
        "agent_id": pl.Int64,
        "version_a": pl.String,
        "version_b": pl.String,
        **{
            f"{c}_{s}": (pl.Int64 if c in ("n", "n_passed") else pl.Float64)
            for s in "ab"
            for c in ("n", "n_passed", "pass_rate", "ci_low", "ci_high")
        },
        "change": pl.Float64,
        "z": pl.Float64,
        "p_value": pl.Float64,
    }
    order = ["metric_id", "metric_name", "agent_id", "version_a", "version_b"]
    order += [f"{c}_a" for c in ("n", "n_passed", "pass_rate", "ci_low", "ci_high")]
    order += [f"{c}_b" for c in ("n", "n_passed", "pass_rate", "ci_low", "ci_high")]
    order += ["change", "z", "p_value"]
    frame = pl.DataFrame(out, schema={k: schema[k] for k in order})
    return frame.sort(["change", "metric_id"], nulls_last=True)


def version_changes(
    data_dir: Source,
    *,
    since: str | date | datetime | None = None,
    agent_id: int | str | None = None,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """First UTC day each agent version was seen in scope: ``agent_id, agent_version, day``."""
    params = Scope.of(since, agent_id).params()
    with opened(data_dir, rules, as_of=as_of) as con:
        return fetch(
            con,
            "select agent_id, agent_version, min(day) as day from run_details"
            f" where agent_version is not null and {scope_sql()}"
            " group by agent_id, agent_version order by day, agent_id, agent_version",
            params,
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
    params = Scope.of(since, agent_id).params()
    with opened(data_dir, rules, as_of=as_of) as con:
        return fetch(
            con,
            "select run_id, duration_s, success from run_details"
            f" where duration_s is not null and {scope_sql()}",
            params,
        )


__all__ = [
    "compare_versions",
    "pass_rates",
    "pass_rates_sql",
    "run_durations",
    "version_changes",
]
