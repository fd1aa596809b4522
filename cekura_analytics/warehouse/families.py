"""The families of near-identical views, each defined once and generated.

- **Pass rates** (``sql/marts/3x``, ``4x``): :data:`PASS_RATE_VIEWS` maps every
  ``pass_rates_*`` / ``run_success_*`` view to the dimensions it groups by; :func:`rates_sql`
  renders the same query for any grouping with a scope (the
  :func:`~cekura_analytics.analysis.rates.pass_rates` twin).
- **Failure-mode slices** (``sql/marts/63``-``65``): :data:`FAILURE_MODE_SLICES` maps every
  ``failure_modes_by_*`` view to the columns it slices by.
- **Flakiness and evaluator trust** (``sql/marts/7x``, ``81``-``83``): :data:`QUALITY_VIEWS`
  maps every ``flaky_*`` and review view to its ``by``; :func:`flaky_sql` and
  :func:`review_sql` render the same query for any ``by`` with a scope (the twins
  :func:`~cekura_analytics.analysis.flakiness.flaky` and
  :func:`~cekura_analytics.analysis.reviews.review_agreement`).

:func:`view_sql` renders a view's file and :func:`view_file` names it;
``tools/gen_views.py`` writes them and a test keeps files and generator equal. Counts, rates
and intervals come from the SQL macros of ``sql/setup/00_macros.sql``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..defaults import FLAKY_BY, MIN_REPEATS, REVIEW_BY
from ..errors import ConfigError, DataError

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
    """What a rate counts: the relation, its verdict column, the rows it keeps, and words.

    ``keys``: the columns a relation of counted cells (``n_evaluated``, ``n_passed``,
    ``n_unknown`` per row) is grouped by; empty for a relation of single results."""

    relation: str
    flag: str
    where: str
    what: str
    keys: tuple[str, ...] = ()


#: metric results passed / evaluated (unknown verdicts counted apart)
METRIC_RESULTS = Source(
    "metric_results",
    "passed",
    "",
    "metric results passed / evaluated, scenario-clustered 95 % interval\n"
    "-- unknown results (no pass rule applies) are counted in n_unknown and left out of the rate",
)
#: the same counts, summed per metric × scenario × personality × language × agent version
#: (``sql/intermediate/26_metric_cells.sql``; pinned and cached per snapshot)
METRIC_CELLS = Source(
    "metric_cells",
    "passed",
    "",
    METRIC_RESULTS.what,
    ("metric_id", "scenario_id", "personality_id", "scenario_language", "agent_id",
     "agent_version"),
)  # fmt: skip


def metric_source(by: str | Iterable[str], *, timed: bool = False) -> Source:
    """The relation that holds a grouping's metric counts: ``metric_cells`` when its keys
    cover the grouping and the agent scope, else ``metric_results`` (also when the scope
    starts at a time, ``timed``, which only single results can answer)."""
    needed = {*key_columns(by), "scenario_id", "agent_id"}
    return METRIC_CELLS if not timed and needed <= set(METRIC_CELLS.keys) else METRIC_RESULTS


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


def counted_columns(source: Source) -> tuple[str, str, str]:
    """The aggregates ``n`` (evaluated), ``k`` (passed) and ``u`` (unknown) over ``source``'s
    rows: counted over single results, added up over counted cells (as bigint, like count())."""
    if source.keys:
        return (
            "cast(sum(n_evaluated) as bigint) as n",
            "cast(sum(n_passed) as bigint) as k",
            "cast(sum(n_unknown) as bigint) as u",
        )
    flag = source.flag
    return (
        f"count({flag}) as n",
        f"count(*) filter (where {flag}) as k",
        f"count(*) - count({flag}) as u",
    )


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
    counted = [f"{c}," for c in counted_columns(source)]
    counted[-1] = counted[-1].rstrip(",")
    sums = "n_passed, n_evaluated, sum_kk, sum_kn, sum_nn, n_scenarios"
    qd = "k.n_passed, k.n_evaluated, k.quantile, k.design_effect"
    lines = [
        "with scenarios as (",
        "    -- aggregate on ids only, names are looked up afterwards (cheaper than text)",
        "    select",
        f"        {per_scenario},",
        *[f"        any_value({label}) as {label},  -- one per {key}" for label, key in carried],
        *[f"        {c}" for c in counted],
        f"    from {source.relation}",
        *([f"    where {conditions}"] if conditions else []),
        f"    group by {per_scenario}",
        "),",
        "counts as (",
        "    -- per cell: the counts, and the sums over its scenarios the clustered interval needs",
        "    select",
        f"        {cell},",
        *[f"        any_value({label}) as {label}," for label, _ in carried],
        "        cast(sum(n) as bigint) as n_evaluated,  -- a count, not a hugeint",
        "        cast(sum(k) as bigint) as n_passed,",
        "        cast(sum(u) as bigint) as n_unknown,",
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
    source = metric_source(view.by) if view.source == METRIC_RESULTS else view.source
    return header + f"create or replace view {name} as\n" + rates_sql(view.by, source)


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


# -- flakiness (sql/marts/7x) and evaluator trust (sql/marts/8x) ------------------------------


@dataclass(frozen=True)
class QualityView:
    """One flakiness or review view: its file number and its ``by`` (see :func:`flaky_sql`
    and :func:`review_sql`)."""

    number: int
    by: str


#: every flakiness and review view, by name (file ``sql/marts/<number>_<name>.sql``);
#: ``80_reviewed_results`` (what the review views count) is written by hand
QUALITY_VIEWS: dict[str, QualityView] = {
    "flaky_scenarios": QualityView(70, "scenario"),
    "flaky_scenarios_weekly": QualityView(71, "scenario,week"),
    "flaky_metrics": QualityView(72, "metric"),
    "flaky_metrics_by_agent_version": QualityView(73, "metric,agent_version"),
    "flaky_metrics_weekly": QualityView(74, "metric,week"),
    "metric_review_agreement": QualityView(81, "metric"),
    "metric_review_agreement_by_agent_version": QualityView(82, "metric,agent_version"),
    "review_agreement": QualityView(83, "agent_version"),
}
#: ``by`` -> the key columns beside the family's own (scenario × metric × agent version for
#: the flaky cells, the metric for the shares and the review counts, the agent for agreement)
_EXTRA_KEYS = {
    "scenario": (),
    "scenario,week": ("week",),
    "metric": (),
    "metric,agent_version": ("agent_id", "agent_version"),
    "metric,week": ("week",),
    "agent": (),
    "agent_version": ("agent_version",),
}
_CELL_KEYS = ("scenario_id", "metric_id", "agent_id", "agent_version")


def choose_by(by: str, choices: tuple[str, ...], what: str) -> str:
    """``by`` normalised (``"metric, week"`` -> ``"metric,week"``); a one-line error else."""
    norm = ",".join(p.strip().lower() for p in str(by).split(",") if p.strip())
    if norm not in choices:
        raise ConfigError(f"{what} --by {by!r}: use one of {', '.join(choices)}")
    return norm


def _where(*conditions: str) -> list[str]:
    """A ``where`` line joining the non-empty conditions (none: no line)."""
    kept = [c for c in conditions if c]
    return ["where " + " and ".join(f"({c})" for c in kept)] if kept else []


def _indent(lines: list[str], n: int = 4) -> list[str]:
    return [" " * n + ln if ln else ln for ln in lines]


def _flaky_cells(
    extra: tuple[str, ...], where: str, *, full: bool, source: Source = METRIC_RESULTS
) -> list[str]:
    """The cells: evaluated results per scenario × metric × agent version (× ``extra``) with
    at least MIN_REPEATS of them; ``full`` adds the outcome sequence, times and an example
    (single results only); from ``source``, the results or the counted cells."""
    keys = [*_CELL_KEYS, *extra]
    counted = bool(source.keys)
    n_runs = "cast(sum(n_evaluated) as bigint)" if counted else "count(*)"
    select = [
        "scenario_id,",
        *(["any_value(scenario_name) as scenario_name,"] if full else []),
        "metric_id,",
        "any_value(metric_name) as metric_name,",
        "agent_id,",
        "agent_version,",
        *[f"{k}," for k in extra],
        f"{n_runs} as n_runs,",
        ("cast(sum(n_passed) as bigint)" if counted else "count(*) filter (where passed)")
        + " as n_passed"
        + ("," if full else ""),
    ]
    if full:
        select += [
            "pass_rate(count(*) filter (where passed), count(*)) as pass_rate,",
            "bool_or(passed) and bool_or(not passed) as is_flaky,",
            "string_agg(if(passed, 'P', 'F'), '' order by timestamp, run_id) as outcomes,",
            "min(timestamp) as first_run_at,",
            "max(timestamp) as last_run_at,",
            "-- the latest failed run, to look at",
            "arg_max(run_id, (timestamp, run_id)) filter (where not passed)"
            " as example_failed_run_id",
        ]
    evaluated = "n_evaluated > 0" if counted else "passed is not null"
    return [
        "select",
        *_indent(select),
        f"from {source.relation}",
        *_where(f"{evaluated} and scenario_id is not null", where),
        f"group by {', '.join(keys)}",
        f"having {n_runs} >= {MIN_REPEATS}",
    ]


def flaky_counts_sql(where: str = "") -> str:
    """Per scenario × metric × agent version with at least MIN_REPEATS evaluated runs: the
    runs and passes, from the counted cells (``flaky_sql("scenario")`` without the outcome
    sequences and times, for picking the flakiest cells before reading their results)."""
    return "\n".join(_flaky_cells((), where, full=False, source=METRIC_CELLS))


def _flaky_shares(extra: tuple[str, ...], where: str, source: Source = METRIC_RESULTS) -> list[str]:
    """Per metric (× ``extra``): the shares of cells always passed, flaky and always failed,
    each with its scenario-clustered interval (a scenario's cells are its versions / weeks)."""
    cell_extra = tuple(k for k in extra if k == "week")
    group = ", ".join(["metric_id", *extra])
    shares = (
        ("always_passed", "n_passed = n_runs"),
        ("flaky", "n_passed > 0 and n_passed < n_runs"),
        ("always_failed", "n_passed = 0"),
    )
    per_scenario = [f"count(*) filter (where {cond}) as k_{name}," for name, cond in shares]
    sums = []
    for name, _ in shares:
        sums += [
            f"cast(sum(k_{name}) as bigint) as n_{name},",
            f"sum(k_{name} * k_{name}) as kk_{name},",
            f"sum(k_{name} * n) as kn_{name},",
        ]
    effects, out = [], []
    for name, _ in shares:
        args = f"n_{name}, n_cells, kk_{name}, kn_{name}, nn, n_scenarios"
        effects.append(f"design_effect({args}) as design_effect_{name},")
        qd = f"n_{name}, n_cells, quantile, design_effect_{name}"
        out += [
            f"n_{name},",
            f"pass_rate(n_{name}, n_cells) as share_{name},",
            f"clustered_low_qd({qd}) as {name}_ci_low,",
            f"clustered_high_qd({qd}) as {name}_ci_high,",
        ]
    effects[-1] = effects[-1].rstrip(",")
    out[-1] = out[-1].rstrip(",")
    return [
        "with cells as (",
        *_indent(_flaky_cells(cell_extra, where, full=False, source=source)),
        "),",
        "scenarios as (",
        "    -- per scenario: its cells in the group (one per agent version, or per week) by kind",
        "    select",
        f"        {group},",
        "        scenario_id,",
        "        any_value(metric_name) as metric_name,",
        "        count(*) as n,",
        *_indent(per_scenario, 8),
        "        sum(n_runs) as runs,",
        "        sum(n_passed) as passed",
        "    from cells",
        f"    group by {group}, scenario_id",
        "),",
        "sums as (",
        "    -- per group: the counts, and the sums over scenarios the clustered interval needs",
        "    select",
        f"        {group},",
        "        any_value(metric_name) as metric_name,",
        "        count(*) as n_scenarios,",
        "        cast(sum(n) as bigint) as n_cells,",
        "        sum(n * n) as nn,",
        *_indent(sums, 8),
        "        cast(sum(runs) as bigint) as n_runs,",
        "        cast(sum(passed) as bigint) as n_passed",
        "    from scenarios",
        f"    group by {group}",
        "),",
        "effects as (",
        "    -- the quantile and each share's design effect once per group (binding the",
        "    -- clustered_low/high macros six times over costs more than the query itself)",
        "    select",
        "        *,",
        "        cluster_quantile(n_scenarios) as quantile,",
        *_indent(effects, 8),
        "    from sums",
        ")",
        "select",
        "    metric_id,",
        "    metric_name,",
        *[f"    {k}," for k in extra],
        "    n_scenarios,",
        "    n_cells,",
        "    n_runs,",
        "    n_runs / n_cells as runs_per_cell,",
        "    pass_rate(n_passed, n_runs) as pass_rate,",
        *_indent(out),
        "from effects",
        f"order by {group}",
    ]


def flaky_source(by: str, *, timed: bool = False) -> Source:
    """What a flakiness question reads: the counted cells for the per-metric shares over
    versions (no week, no scope start: ``timed``), else the single results."""
    by = choose_by(by, FLAKY_BY, "flaky")
    by_week = "week" in _EXTRA_KEYS[by]
    return METRIC_CELLS if not timed and not by_week and by.startswith("metric") else METRIC_RESULTS


def flaky_sql(by: str = "metric", where: str = "", source: Source | None = None) -> str:
    """The flakiness query for ``by`` (:data:`~cekura_analytics.defaults.FLAKY_BY`); ``where``
    narrows the metric results first (a scope, a metric).

    ``scenario`` (``,week``): one row per scenario × metric × agent version (× UTC week) with
    at least MIN_REPEATS evaluated runs: counts, ``is_flaky`` (both outcomes seen), the
    ``outcomes`` in run order, first and last run, the latest failed run. ``metric`` (``,agent_
    version`` / ``,week``): per metric, the shares of those cells that always passed (pass^k,
    k = the cell's runs), flipped (flaky) and always failed, with scenario-clustered 95 %
    intervals: the scenario is the unit, its cells (one per version or week) a cluster.
    """
    by = choose_by(by, FLAKY_BY, "flaky")
    extra = _EXTRA_KEYS[by]
    if by.startswith("scenario"):
        keys = ["metric_id", "scenario_id", "agent_id", "agent_version", *extra]
        lines = [*_flaky_cells(extra, where, full=True), f"order by {', '.join(keys)}"]
    else:
        lines = _flaky_shares(extra, where, source or flaky_source(by))
    return "\n".join(lines) + "\n"


def _review_counts(extra: tuple[str, ...], where: str) -> list[str]:
    """Per metric (× ``extra``): reviewed failures and overturns, reviewed passes and misses."""
    group = ", ".join(["metric_id", *extra])
    clean = "passed and is_judge_run_passed"
    rates = []
    for rate, k, n in (("overturn", "n_overturned", "n_reviewed_failed"),
                       ("missed", "n_missed", "n_reviewed_passed")):  # fmt: skip
        rates += [
            f"{n},",
            f"{k},",
            f"pass_rate({k}, {n}) as {rate}_rate,",
            f"wilson_low({k}, {n}) as {rate}_ci_low,",
            f"wilson_high({k}, {n}) as {rate}_ci_high,",
        ]
    rates[-1] = rates[-1].rstrip(",")
    return [
        "with counts as (",
        "    select",
        f"        {group},",
        "        any_value(metric_name) as metric_name,",
        "        count(distinct run_id) as n_reviewed_runs,",
        "        count(*) filter (where passed = false) as n_reviewed_failed,",
        "        count(*) filter (where passed = false and is_overturned) as n_overturned,",
        "        count(*) filter (",
        f"            where {clean} and is_reviewer_run_passed is not null",
        "        ) as n_reviewed_passed,",
        f"        count(*) filter (where {clean} and not is_reviewer_run_passed) as n_missed",
        "    from reviewed_results",
        *_indent(_where(where)),
        f"    group by {group}",
        ")",
        "select",
        "    metric_id,",
        "    metric_name,",
        *[f"    {k}," for k in extra],
        "    n_reviewed_runs,",
        *_indent(rates),
        "from counts",
        f"order by {group}",
    ]


def _review_agreement(extra: tuple[str, ...], where: str) -> list[str]:
    """Per agent (× version): the run-level 2 × 2 of the judge's verdict and the reviewer's."""
    group = ", ".join(["agent_id", *extra])
    cells = (("n_both_passed", "judge and reviewer"),
             ("n_judge_passed_reviewer_failed", "judge and not reviewer"),
             ("n_judge_failed_reviewer_passed", "not judge and reviewer"),
             ("n_both_failed", "not judge and not reviewer"))  # fmt: skip
    return [
        "with runs as (",
        "    -- one row per reviewed run with metric results: the two verdicts (null: unknown)",
        "    select",
        "        run_id,",
        "        agent_id,",
        "        any_value(agent_version) as agent_version,",
        "        any_value(is_judge_run_passed) as judge,",
        "        any_value(is_reviewer_run_passed) as reviewer",
        "    from reviewed_results",
        *_indent(_where(where)),
        "    group by run_id, agent_id",
        "),",
        "counts as (",
        "    select",
        f"        {group},",
        "        count(*) as n_reviewed,",
        *[f"        count(*) filter (where {cond}) as {name}," for name, cond in cells],
        "        count(*) filter (where judge is not null and reviewer is not null) as n_compared",
        "    from runs",
        f"    group by {group}",
        ")",
        "select",
        "    c.agent_id,",
        "    a.agent_name,",
        *[f"    c.{k}," for k in extra],
        "    c.n_reviewed,",
        *[f"    c.{name}," for name, _ in cells],
        "    c.n_compared,",
        "    c.n_reviewed - c.n_compared as n_unknown,",
        "    pass_rate(c.n_both_passed + c.n_both_failed, c.n_compared) as agreement_rate,",
        "    wilson_low(c.n_both_passed + c.n_both_failed, c.n_compared) as agreement_ci_low,",
        "    wilson_high(c.n_both_passed + c.n_both_failed, c.n_compared) as agreement_ci_high",
        "from counts as c",
        "left join stg_agents as a on a.agent_id = c.agent_id",
        f"order by {', '.join('c.' + k for k in ['agent_id', *extra])}",
    ]


def review_sql(by: str = "metric", where: str = "") -> str:
    """The review query for ``by`` (:data:`~cekura_analytics.defaults.REVIEW_BY`) over the
    ``reviewed_results`` view; ``where`` narrows its rows first (a scope, a metric).

    ``metric`` (``,agent_version``): reviewed failures, overturned ones (Wilson 95 %), reviewed
    results on runs the judge passed and the runs the reviewer failed among them (the missed
    rate, run level). ``agent`` / ``agent_version``: per agent (× version) the reviewed runs'
    2 × 2 of the judge's verdict against the reviewer's and their agreement (Wilson 95 %);
    Cohen's kappa is :func:`cekura_analytics.analysis.stats.cohen_kappa` of those counts.
    """
    by = choose_by(by, REVIEW_BY, "review-agreement")
    extra = _EXTRA_KEYS[by]
    lines = (
        _review_counts(extra, where) if by.startswith("metric") else _review_agreement(extra, where)
    )
    return "\n".join(lines) + "\n"


_QUALITY_HEADERS = {
    "flaky_scenarios": [
        "scenario × metric × agent version with at least {n} evaluated runs: is_flaky when",
        "both outcomes were seen; outcomes = P / F per run in run order (timestamp, run_id);",
        "example_failed_run_id = the latest failed run. Results without a pass verdict and",
        "runs without a scenario are left out; runs without a known agent version make one",
        "cell of their own (agent_version null)",
    ],
    "flaky_scenarios_weekly": [
        "scenario × metric × agent version × UTC week (Monday) with at least {n} evaluated",
        "runs that week: the cells of flaky_scenarios, week by week (fewer repeats per cell,",
        "so fewer flips are seen than over all time)",
    ],
    "flaky_metrics": [
        "metric: its flaky_scenarios cells (scenario × agent version) that always passed",
        "(pass^k, k = each cell's runs: runs_per_cell on average), flipped (flaky) and always",
        "failed, each share with a scenario-clustered 95 % interval (the scenario is the unit)",
    ],
    "flaky_metrics_by_agent_version": [
        "metric × agent × agent version: the shares of its scenarios (one cell each) that",
        "always passed (pass^k), flipped (flaky) and always failed, with 95 % intervals (one",
        "cell per scenario: Wilson's with Student's t, the clustered macros)",
    ],
    "flaky_metrics_weekly": [
        "metric × UTC week (Monday): the shares of that week's flaky_scenarios_weekly cells",
        "that always passed, flipped and always failed, scenario-clustered 95 % intervals",
    ],
    "metric_review_agreement": [
        "metric: on reviewed runs, its failed results and how many a reviewer overturned",
        "(the critical category naming the metric marked wrongly_marked), Wilson 95 %; and",
        "the missed rate: of its passed results on runs where every result passed, the runs",
        "the reviewer failed. A missed problem is known per run only, so each such run counts",
        "once for every metric it has (run-level attribution: an upper bound per metric)",
    ],
    "metric_review_agreement_by_agent_version": [
        "metric × agent × agent version: metric_review_agreement per agent version",
    ],
    "review_agreement": [
        "agent × agent version: over reviewed runs, the judge's run verdict (every result",
        "passed; unknown when none failed but some are unknown) against the reviewer's",
        "(reviewed_success / reviewed_failure): the 2 × 2 counts and percent agreement",
        "(Wilson 95 %); Cohen's kappa and its interval: analysis.reviews.review_agreement",
    ],
}


def quality_view_sql(name: str) -> str:
    """The text of a flakiness or review view's file (header stating the grain, then SQL)."""
    view = QUALITY_VIEWS[name]
    words = [w.format(n=MIN_REPEATS) for w in _QUALITY_HEADERS[name]]
    header = "".join(f"-- {'one row per ' if i == 0 else ''}{w}\n" for i, w in enumerate(words))
    header += f"-- {GENERATED}\n"
    body = flaky_sql(view.by) if name.startswith("flaky") else review_sql(view.by)
    return header + f"create or replace view {name} as\n" + body


GENERATED = "generated from cekura_analytics.warehouse.families by tools/gen_views.py"


def view_sql(name: str) -> str:
    """The text of any generated view's file."""
    if name in QUALITY_VIEWS:
        return quality_view_sql(name)
    return rate_view_sql(name) if name in PASS_RATE_VIEWS else mode_slice_sql(name)


def view_file(name: str) -> str:
    """The file name of a generated view: ``30_pass_rates_by_metric.sql``."""
    if name in QUALITY_VIEWS:
        return f"{QUALITY_VIEWS[name].number}_{name}.sql"
    family = PASS_RATE_VIEWS if name in PASS_RATE_VIEWS else FAILURE_MODE_SLICES
    return f"{family[name].number}_{name}.sql"


#: every generated view, by name
GENERATED_VIEWS = (*PASS_RATE_VIEWS, *FAILURE_MODE_SLICES, *QUALITY_VIEWS)


__all__ = [
    "ALIASES",
    "DIMENSIONS",
    "FAILURE_MODE_SLICES",
    "GENERATED_VIEWS",
    "PASS_RATE_VIEWS",
    "QUALITY_VIEWS",
    "RATE_COLUMNS",
    "choose_by",
    "counted_columns",
    "dimensions",
    "flaky_counts_sql",
    "flaky_sql",
    "key_columns",
    "output_columns",
    "quality_view_sql",
    "rates_sql",
    "review_sql",
    "view_file",
    "view_sql",
]
