"""The families of near-identical views, each defined once and generated.

- **Pass rates** (``sql/marts/3x``, ``4x``): :data:`PASS_RATE_VIEWS` maps every
  ``pass_rates_*`` / ``run_success_*`` view to the dimensions it groups by; :func:`rates_sql`
  renders the same query for any grouping with a scope (the
  :func:`~cekura_analytics.analysis.rates.pass_rates` twin).
- **Failure-mode slices** (``sql/marts/63``-``65``): :data:`FAILURE_MODE_SLICES` maps every
  ``failure_modes_by_*`` view to the columns it slices by.

:func:`view_sql` renders a view's file and :func:`view_file` names it;
``tools/gen_views.py`` writes them and a test keeps files and generator equal. Counts, rates
and intervals come from the SQL macros of ``sql/setup/00_macros.sql``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import DataError

#: ``by`` names -> (key columns, label columns with the relation that holds them;
#: relation "" = a column of the source, one value per key, carried with any_value)
DIMENSIONS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "metric": (("metric_id",), (("metric_name", "metric_catalog"),)),
    "personality": (("personality_id",), (("personality_name", "int_personalities"),)),
    "language": (("scenario_language",), ()),
    "scenario": (("scenario_id",), (("scenario_name", "int_scenarios"),)),
    "agent": (("agent_id",), (("agent_name", "stg_agents"),)),
    "agent_version": (("agent_id", "agent_version"), ()),
    "day": (("day",), ()),
    "week": (("week",), ()),
    "result": (("result_id",), ()),
}
ALIASES = {
    "metrics": "metric",
    "metric_id": "metric",
    "metric_name": "metric",
    "personalities": "personality",
    "personality_id": "personality",
    "persona": "personality",
    "languages": "language",
    "scenario_language": "language",
    "lang": "language",
    "version": "agent_version",
    "versions": "agent_version",
    "date": "day",
    "daily": "day",
    "weekly": "week",
    "scenarios": "scenario",
    "agents": "agent",
}


@dataclass(frozen=True)
class Source:
    """What a rate counts: the relation, its verdict column, the rows it keeps, and words."""

    relation: str
    flag: str
    where: str
    what: str


#: metric results passed / evaluated (unknown verdicts counted apart)
METRIC_RESULTS = Source(
    "metric_results",
    "passed",
    "",
    "metric results passed / evaluated, scenario-clustered 95 % interval\n"
    "-- unknown results (no pass rule applies) are counted in n_unknown and left out of the rate",
)
#: run-level success over terminal runs
RUN_SUCCESS = Source(
    "run_details",
    "success",
    "is_terminal",
    "run-level success over terminal runs, scenario-clustered 95 % interval\n"
    "-- runs that never connected count as failures here (they have no metric results); runs\n"
    "-- without a success flag are n_unknown",
)


@dataclass(frozen=True)
class RateView:
    """One rate view: its file number, the dimensions it groups by, what it counts."""

    number: int
    by: tuple[str, ...]
    source: Source = METRIC_RESULTS


#: every rate view, by name (file ``sql/marts/<number>_<name>.sql``)
PASS_RATE_VIEWS: dict[str, RateView] = {
    "pass_rates_by_metric": RateView(30, ("metric",)),
    "pass_rates_by_personality": RateView(31, ("personality",)),
    "pass_rates_by_language": RateView(32, ("language",)),
    "pass_rates_by_metric_personality": RateView(33, ("metric", "personality")),
    "pass_rates_by_metric_language": RateView(34, ("metric", "language")),
    "pass_rates_by_metric_agent_version": RateView(35, ("metric", "agent_version")),
    "pass_rates_daily": RateView(36, ("day", "metric")),
    "pass_rates_by_personality_language": RateView(37, ("personality", "language")),
    "run_success_by_personality": RateView(40, ("personality",), RUN_SUCCESS),
    "run_success_by_language": RateView(41, ("language",), RUN_SUCCESS),
}
#: the columns every rate view and :func:`rates_sql` end with: the counts, the scenarios they
#: came from, the rate and its scenario-clustered 95 % interval with the design effect
RATE_COLUMNS = (
    "n_evaluated",
    "n_passed",
    "n_unknown",
    "n_scenarios",
    "pass_rate",
    "ci_low",
    "ci_high",
    "design_effect",
)
_GRAIN_WORDS = {"language": "scenario language", "day": "UTC day", "week": "UTC week (Monday)",
                "agent_version": "agent × agent version"}  # fmt: skip


def dimensions(by: str | Iterable[str]) -> list[str]:
    """``"metric, persona"`` -> ``["metric", "personality"]``; a one-line error otherwise."""
    items = [b.strip() for b in by.split(",")] if isinstance(by, str) else [str(b) for b in by]
    out: list[str] = []
    for item in filter(None, items):
        name = ALIASES.get(item.lower(), item.lower())
        if name not in DIMENSIONS:
            raise DataError(
                f"cannot group pass rates by {item!r}: use {', '.join(DIMENSIONS)} "
                "(comma-separated for several)"
            )
        if name not in out:
            out.append(name)
    if not out:
        raise DataError(f"say what to group pass rates by: one or more of {', '.join(DIMENSIONS)}")
    return out


def key_columns(by: str | Iterable[str]) -> list[str]:
    """The key columns of a grouping, in output order (``agent_version`` brings ``agent_id``)."""
    keys: list[str] = []
    for dim in dimensions(by):
        keys += [k for k in DIMENSIONS[dim][0] if k not in keys]
    return keys


def output_columns(by: str | Iterable[str]) -> list[str]:
    """Every column of a grouping's rates, in order: keys and labels, then the counts."""
    out: list[str] = []
    for dim in dimensions(by):
        keys, labels = DIMENSIONS[dim]
        out += [k for k in keys if k not in out] + [label for label, _ in labels]
    return [*out, *RATE_COLUMNS]


def rates_sql(by: str | Iterable[str], source: Source = METRIC_RESULTS, where: str = "") -> str:
    """The rates query for a grouping; ``where`` narrows the source rows (e.g. a scope).

    Counts go up in two steps, per scenario and then per cell, so that each cell carries the
    sums the scenario-clustered interval needs (runs of one scenario are not independent:
    :func:`cekura_analytics.analysis.stats.clustered_interval`, the SQL macros
    ``clustered_low/high`` and ``design_effect``).
    """
    keys = key_columns(by)
    cell = ", ".join(keys)
    per_scenario = cell if "scenario_id" in keys else f"{cell}, scenario_id"
    carried: list[tuple[str, str]] = []
    select: list[str] = []
    joins: list[str] = []
    for i, dim in enumerate(dimensions(by)):
        dim_keys, labels = DIMENSIONS[dim]
        select += [f"k.{k}" for k in dim_keys if f"k.{k}" not in select]
        for label, relation in labels:
            if not relation:
                carried.append((label, dim_keys[0]))
                select.append(f"k.{label}")
            else:
                alias = f"l{i}"
                select.append(f"{alias}.{label}")
                key = dim_keys[0]
                joins.append(f"left join {relation} as {alias} on {alias}.{key} = k.{key}")
    conditions = " and ".join(f"({c})" for c in (source.where, where) if c)
    flag = source.flag
    sums = "n_passed, n_evaluated, sum_kk, sum_kn, sum_nn, n_scenarios"
    qd = "k.n_passed, k.n_evaluated, k.quantile, k.design_effect"
    lines = [
        "with scenarios as (",
        "    -- aggregate on ids only, names are looked up afterwards (cheaper than text)",
        "    select",
        f"        {per_scenario},",
        *[f"        any_value({label}) as {label},  -- one per {key}" for label, key in carried],
        f"        count({flag}) as n,",
        f"        count(*) filter (where {flag}) as k,",
        f"        count(*) - count({flag}) as u",
        f"    from {source.relation}",
        *([f"    where {conditions}"] if conditions else []),
        f"    group by {per_scenario}",
        "),",
        "counts as (",
        "    -- per cell: the counts, and the sums over its scenarios the clustered interval needs",
        "    select",
        f"        {cell},",
        *[f"        any_value({label}) as {label}," for label, _ in carried],
        "        sum(n) as n_evaluated,",
        "        sum(k) as n_passed,",
        "        sum(u) as n_unknown,",
        "        count(*) filter (where n > 0) as n_scenarios,",
        "        sum(k * k) as sum_kk,",
        "        sum(k * n) as sum_kn,",
        "        sum(n * n) as sum_nn",
        "    from scenarios",
        f"    group by {cell}",
        "),",
        "cells as (",
        "    -- the quantile and the design effect once per cell (see clustered_low_qd)",
        "    select",
        "        *,",
        "        cluster_quantile(n_scenarios) as quantile,",
        f"        design_effect({sums}) as design_effect",
        "    from counts",
        ")",
        "select",
        *[f"    {c}," for c in select],
        "    k.n_evaluated,",
        "    k.n_passed,",
        "    k.n_unknown,",
        "    k.n_scenarios,",
        "    pass_rate(k.n_passed, k.n_evaluated) as pass_rate,",
        f"    clustered_low_qd({qd}) as ci_low,",
        f"    clustered_high_qd({qd}) as ci_high,",
        "    k.design_effect",
        "from cells as k",
        *joins,
        f"order by {', '.join('k.' + k for k in keys)}",
    ]
    return "\n".join(lines) + "\n"


def rate_view_sql(name: str) -> str:
    """The text of a rate view's SQL file (header stating the grain, then the view)."""
    view = PASS_RATE_VIEWS[name]
    grain = " × ".join(_GRAIN_WORDS.get(d, d) for d in view.by)
    header = f"-- one row per {grain}: {view.source.what}\n"
    header += f"-- {GENERATED}\n"
    return header + f"create or replace view {name} as\n" + rates_sql(view.by, view.source)


@dataclass(frozen=True)
class ModeSlice:
    """One failure-mode slice view: its file number, the columns it slices by, their words."""

    number: int
    columns: tuple[str, ...]
    words: str


#: every failure-mode slice view, by name (file ``sql/marts/<number>_<name>.sql``)
FAILURE_MODE_SLICES: dict[str, ModeSlice] = {
    "failure_modes_by_agent_version": ModeSlice(63, ("agent_id", "agent_version"), "agent version"),
    "failure_modes_by_personality": ModeSlice(
        64, ("personality_id", "personality_name"), "personality"
    ),
    "failure_modes_by_language": ModeSlice(65, ("scenario_language",), "language"),
}


def mode_slice_sql(name: str) -> str:
    """The text of a failure-mode slice view: each mode's failed results in a slice, as a
    share of the metric's failed results with a mode there (Wilson 95 %)."""
    cols = ", ".join(FAILURE_MODE_SLICES[name].columns)
    words = FAILURE_MODE_SLICES[name].words
    total = f"sum(n_failed) over (partition by metric_id, {cols})"
    return (
        "\n".join(
            [
                f"-- one row per failure mode × {words}: its failed results there, as a share",
                "-- of the metric's failed results with a mode in that slice (Wilson 95 %)",
                f"-- {GENERATED}",
                f"create or replace view {name} as",
                "with counts as (",
                "    select",
                "        mode_id,",
                "        metric_id,",
                "        any_value(metric_name) as metric_name,",
                *[f"        {c}," for c in FAILURE_MODE_SLICES[name].columns],
                "        count(*) as n_failed",
                "    from failure_mode_members",
                f"    group by mode_id, metric_id, {cols}",
                ")",
                "select",
                "    *,",
                f"    {total} as n_slice_failed,",
                f"    pass_rate(n_failed, {total}) as share,",
                f"    wilson_low(n_failed, {total}) as share_ci_low,",
                f"    wilson_high(n_failed, {total}) as share_ci_high",
                "from counts",
                f"order by metric_id, mode_id, {cols}",
            ]
        )
        + "\n"
    )


GENERATED = "generated from cekura_analytics.warehouse.families by tools/gen_views.py"


def view_sql(name: str) -> str:
    """The text of any generated view's file."""
    return rate_view_sql(name) if name in PASS_RATE_VIEWS else mode_slice_sql(name)


def view_file(name: str) -> str:
    """The file name of a generated view: ``30_pass_rates_by_metric.sql``."""
    family = PASS_RATE_VIEWS if name in PASS_RATE_VIEWS else FAILURE_MODE_SLICES
    return f"{family[name].number}_{name}.sql"


#: every generated view, by name
GENERATED_VIEWS = (*PASS_RATE_VIEWS, *FAILURE_MODE_SLICES)


__all__ = [
    "ALIASES",
    "DIMENSIONS",
    "FAILURE_MODE_SLICES",
    "GENERATED_VIEWS",
    "PASS_RATE_VIEWS",
    "RATE_COLUMNS",
    "dimensions",
    "key_columns",
    "output_columns",
    "rates_sql",
    "view_file",
    "view_sql",
]
