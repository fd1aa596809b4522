"""One question, one answer: is the candidate agent version worse than the baseline?

Versions are picked one way everywhere (:func:`pick_versions`): ``previous`` / ``latest``, a
version label (``v3``) or an agent-version id (``4519``). Each cell (a metric, or metric ×
language / personality) is compared scenario by scenario (:func:`.stats.compare_stratified`:
only scenarios run on both versions are compared, so a change of scenario mix is not read as a
regression), and :func:`.stats.verdicts` gives every cell its verdict with Holm's correction
across the cells. :func:`compare_versions` returns that as a frame; the release gate, the
version chart, the report and ``improve impact`` read their verdicts from it and compute none
of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..defaults import ALPHA, GATE_BY, MAX_DROP, MIN_N
from ..errors import ConfigError, DataError
from ..scope import check_agent
from ..warehouse.connection import Source, fetch, opened
from .stats import StratifiedComparison, Verdict, compare_stratified, verdicts

#: ``--by`` -> the dimension beside the metric: (its name, key column, label column)
DIMENSION: dict[str, tuple[str, str, str] | None] = dict(
    zip(
        GATE_BY,
        (
            None,
            ("language", "scenario_language", "scenario_language"),
            ("personality", "personality_id", "personality_name"),
        ),
        strict=True,
    )
)
PREVIOUS, LATEST = "previous", "latest"


@dataclass(frozen=True)
class Cell:
    """One compared cell: what it is, the comparison and its verdict."""

    metric_id: int
    metric_name: str | None
    dimension: str | None
    dimension_value: str | None
    cmp: StratifiedComparison
    verdict: Verdict
    #: the part of the scenario-matched drop that comes from flaky scenarios (both outcomes
    #: seen on a side): above 1/2, rerun them before blocking a release on this cell
    flaky_share: float | None = None

    @property
    def mostly_flaky(self) -> bool:
        """True when most of the drop comes from scenarios that flip between runs."""
        return self.flaky_share is not None and self.flaky_share > 0.5

    @property
    def name(self) -> str:
        """``Empathy`` or ``Empathy [personality: Angry British Female]``."""
        base = self.metric_name or f"metric {self.metric_id}"
        return (
            base if self.dimension is None else f"{base} [{self.dimension}: {self.dimension_value}]"
        )

    @property
    def drop(self) -> float | None:
        """baseline - candidate, scenario by scenario (the Mantel-Haenszel estimate)."""
        return None if self.cmp.change is None else -self.cmp.change


@dataclass(frozen=True)
class VersionComparison:
    """Every cell of one agent's baseline vs candidate, and the settings that judged them."""

    agent_id: int
    baseline: str
    candidate: str
    by: str
    alpha: float
    max_drop: float
    min_n: int
    strict: bool
    cells: list[Cell]

    def frame(self) -> pl.DataFrame:
        """One row per cell, worst first (``worse`` cells, then the largest drops)."""
        rows = []
        for c in self.cells:
            row: dict[str, Any] = {
                "metric_id": c.metric_id,
                "metric_name": c.metric_name,
                "dimension": c.dimension,
                "dimension_value": c.dimension_value,
                "agent_id": self.agent_id,
                "baseline": self.baseline,
                "candidate": self.candidate,
            }
            cmp = asdict(c.cmp)
            cmp["scenarios_baseline_only"] = list(cmp["scenarios_baseline_only"])
            cmp["scenarios_candidate_only"] = list(cmp["scenarios_candidate_only"])
            cmp["test"] = cmp.pop("method")
            row |= cmp | asdict(c.verdict) | {"drop": c.drop, "flaky_share": c.flaky_share}
            rows.append(row)
        schema = _frame_schema()
        if not rows:
            return pl.DataFrame(schema=schema)
        order = {"worse": 0, "better": 2, "no difference": 1, "insufficient": 3}
        df = pl.DataFrame(rows, schema=schema)
        return df.sort(
            pl.col("verdict").replace_strict(order, return_dtype=pl.Int8),
            pl.col("change"),
            "metric_id",
            "dimension_value",
            nulls_last=True,
        )


def _frame_schema() -> dict[str, pl.DataType]:
    text, num, count = pl.String(), pl.Float64(), pl.Int64()
    names: dict[str, pl.DataType] = {
        "metric_id": count,
        "metric_name": text,
        "dimension": text,
        "dimension_value": text,
        "agent_id": count,
        "baseline": text,
        "candidate": text,
    }
    for field in StratifiedComparison.__dataclass_fields__.values():
        name = "test" if field.name == "method" else field.name
        kind = str(field.type)
        names[name] = (
            pl.List(pl.String())
            if "tuple" in kind
            else count
            if kind == "int"
            else text
            if "str" in kind
            else num
        )
    for field in Verdict.__dataclass_fields__.values():
        kind = str(field.type)
        names[field.name] = pl.Boolean() if kind == "bool" else text if "str" in kind else num
    names["drop"] = num
    names["flaky_share"] = num
    return names


# -- which versions ---------------------------------------------------------------------------
def agent_versions(con: Any, agent_id: int | None = None) -> pl.DataFrame:
    """Each agent's versions in order of first result: ``agent_id, agent_version,
    agent_version_id, first_seen_at, n_results``."""
    return fetch(
        con,
        "select agent_id, agent_version, min(agent_version_id) as agent_version_id,"
        " min(first_seen_at) as first_seen_at,"
        " cast(sum(n_evaluated + n_unknown) as bigint) as n_results from metric_cells"
        " where agent_version is not null"
        " and ($agent_id is null or agent_id = cast($agent_id as bigint))"
        " group by agent_id, agent_version order by agent_id, first_seen_at, agent_version",
        {"agent_id": agent_id},
    )


def pick_versions(
    con: Any, agent_id: int | None, baseline: str | int, candidate: str | int
) -> tuple[int, str, str]:
    """``(agent, baseline label, candidate label)``: ``previous``/``latest``, a label or an
    agent-version id; without ``agent_id``, the agent with most results among those that
    have the versions asked for (and at least two versions)."""
    check_agent(con, None if agent_id is None else int(agent_id))
    seen = agent_versions(con, agent_id)
    if seen.is_empty():
        who = f"agent {agent_id}" if agent_id is not None else "any agent"
        raise DataError(f"no data: {who} has no metric results with an agent version")
    wanted = [str(v) for v in (baseline, candidate) if str(v) not in (PREVIOUS, LATEST)]
    candidates = []
    for (agent,), versions in seen.group_by(["agent_id"], maintain_order=True):
        known = set(versions["agent_version"].cast(pl.String).to_list())
        known |= {str(i) for i in versions["agent_version_id"].to_list() if i is not None}
        if versions.height >= 2 and all(w in known for w in wanted):
            candidates.append((int(versions["n_results"].sum()), -int(agent), int(agent)))
    if agent_id is not None:
        agent = int(agent_id)
    elif candidates:
        agent = max(candidates)[2]
    else:
        which = f" with versions {' and '.join(map(repr, wanted))}" if wanted else ""
        raise DataError(f"no agent has two versions to compare{which}: see `--agent-id`")
    versions = seen.filter(pl.col("agent_id") == agent)
    labels = [str(v) for v in versions["agent_version"].to_list()]
    ids = {str(i): str(v) for i, v in versions.select("agent_version_id", "agent_version").rows()
           if i is not None}  # fmt: skip

    def resolve(value: str, option: str, word: str) -> str:
        if value in labels:
            return value
        if value in ids:
            return ids[value]
        pairs = versions.select("agent_version", "agent_version_id").rows()
        listed = ", ".join(f"{v} ({i})" if i is not None else v for v, i in pairs)
        raise DataError(
            f"no data: agent {agent} has no results for version {value!r} ({option} takes a "
            f"version label, an agent-version id or {word!r}); its versions: {listed}"
        )

    cand = str(candidate)
    cand = labels[-1] if cand == LATEST else resolve(cand, "--candidate", LATEST)
    base = str(baseline)
    if base == PREVIOUS:
        earlier = labels[: labels.index(cand)]
        if not earlier:
            raise DataError(
                f"no data: version {cand!r} is agent {agent}'s first: give --baseline VERSION"
            )
        return agent, earlier[-1], cand
    if base == LATEST:
        raise ConfigError("--baseline takes a version or 'previous', not 'latest'")
    return agent, resolve(base, "--baseline", PREVIOUS), cand


# -- the comparison ------------------------------------------------------------------------------
def check_settings(by: str, max_drop: float, alpha: float, min_n: int) -> str:
    """The ``--by`` grouping normalised; a one-line error for a setting out of range."""
    norm = ",".join(p.strip().lower() for p in str(by).split(",") if p.strip())
    if norm not in DIMENSION:
        raise ConfigError(f"--by {by!r}: use one of {', '.join(DIMENSION)}")
    if not 0 <= max_drop < 1:
        raise ConfigError(f"--max-drop {max_drop}: give a fraction in [0, 1), e.g. 0.05")
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha {alpha}: give a probability in (0, 1), e.g. 0.05")
    if min_n < 1:
        raise ConfigError(f"--min-n {min_n}: give a positive number of results, e.g. 30")
    return norm


def _scenario_counts(
    con: Any, agent: int, pair: tuple[str, str], by: str, metric: str | int | None
) -> pl.DataFrame:
    """Passes and evaluated results per cell × version × scenario."""
    # from the counted cells (one row per metric × scenario × ... × version), names looked up
    # where metric_results takes them from
    dim = DIMENSION[by]
    key = f"cast(c.{dim[1]} as varchar)" if dim else "null"
    # a key that is its own label (language) is the cell's; a name is the personality's
    owner = "c" if dim and dim[2] == dim[1] else "p"
    label = f"cast(any_value({owner}.{dim[2]}) as varchar)" if dim else "null"
    return fetch(
        con,
        f"select c.metric_id, any_value(m.metric_name) as metric_name, {key} as dim_key,"
        f" {label} as dim_label, c.agent_version, c.scenario_id,"
        " any_value(s.scenario_name) as scenario_name,"
        " cast(sum(c.n_evaluated) as bigint) as n, cast(sum(c.n_passed) as bigint) as k"
        " from metric_cells as c"
        " left join metric_catalog as m on m.metric_id = c.metric_id"
        " left join int_scenarios as s on s.scenario_id = c.scenario_id"
        " left join int_personalities as p on p.personality_id = c.personality_id"
        " where c.agent_id = $agent and c.agent_version in ($b, $c)"
        " and ($metric is null or m.metric_name = $metric"
        " or cast(c.metric_id as varchar) = $metric)"
        " group by c.metric_id, dim_key, c.agent_version, c.scenario_id",
        {
            "agent": agent,
            "b": pair[0],
            "c": pair[1],
            "metric": None if metric is None else str(metric),
        },
    )


def strata_by_cell(
    counts: pl.DataFrame, pair: tuple[str, str], cell: Sequence[str] = ()
) -> dict[tuple[Any, ...], dict[str, tuple[int, int, int, int]]]:
    """Per cell (the values of the ``cell`` columns), ``{scenario: (k_b, n_b, k_c, n_c)}``
    from rows of ``scenario_id, scenario_name, agent_version, k, n``: a scenario goes by its
    name, with ``#id`` where two of a cell's scenarios share one; a version compared with
    itself is both sides; scenarios in name order."""
    if counts.is_empty():
        return {}
    keys = list(cell)
    name = pl.coalesce(
        pl.col("scenario_name"), pl.lit("scenario ") + pl.col("scenario_id").cast(pl.String)
    )
    clash = pl.col("scenario_id").n_unique().over([*keys, "_name"]) > 1
    label = pl.when(clash).then(pl.col("_name") + " #" + pl.col("scenario_id").cast(pl.String))
    named = counts.with_columns(name.alias("_name")).with_columns(
        label.otherwise(pl.col("_name")).alias("_label")
    )

    def side(version: str, k: str, n: str) -> list[pl.Expr]:
        mine = pl.col("agent_version") == version
        return [
            pl.col(c).filter(mine).sum().cast(pl.Int64).alias(a) for c, a in (("k", k), ("n", n))
        ]

    agg = (
        named.group_by([*keys, "_label"])
        .agg(*side(pair[0], "k_b", "n_b"), *side(pair[1], "k_c", "n_c"))
        .sort([*keys, "_label"], nulls_last=True)
    )
    out: dict[tuple[Any, ...], dict[str, tuple[int, int, int, int]]] = {}
    width = len(keys)
    columns = [agg[c].to_list() for c in (*keys, "_label", "k_b", "n_b", "k_c", "n_c")]
    for row in zip(*columns, strict=True):
        out.setdefault(tuple(row[:width]), {})[row[width]] = (row[-4], row[-3], row[-2], row[-1])
    return out


def strata(
    rows: list[dict[str, Any]], pair: tuple[str, str]
) -> dict[str, tuple[int, int, int, int]]:
    """``{scenario: (k_b, n_b, k_c, n_c)}`` of one cell's rows (:func:`strata_by_cell`)."""
    return strata_by_cell(pl.DataFrame(rows), pair).get((), {}) if rows else {}


def flaky_share(strata: dict[str, tuple[int, int, int, int]]) -> float | None:
    """The share of a drop (Mantel-Haenszel numerator, scenarios on both sides) that comes
    from flaky scenarios: those that both passed and failed on the baseline or the candidate.
    None when there is no drop."""
    parts: list[tuple[float, bool]] = []
    for k_b, n_b, k_c, n_c in strata.values():
        if n_b and n_c:
            parts.append(((k_c * n_b - k_b * n_c) / (n_b + n_c), 0 < k_b < n_b or 0 < k_c < n_c))
    drop = -sum(p for p, _ in parts)
    if drop <= 0:
        return None
    return max(0.0, min(1.0, -sum(p for p, flaky in parts if flaky) / drop))


def compare(
    data_dir: Source,
    agent_id: int | None = None,
    *,
    baseline: str | int = PREVIOUS,
    candidate: str | int = LATEST,
    metric: str | int | None = None,
    by: str = "metric",
    alpha: float = ALPHA,
    max_drop: float = MAX_DROP,
    min_n: int = MIN_N,
    strict: bool = False,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> VersionComparison:
    """Every cell of baseline vs candidate, compared scenario by scenario, with its verdict."""
    by = check_settings(by, max_drop, alpha, min_n)
    with opened(data_dir, rules, as_of=as_of) as con:
        agent, base, cand = pick_versions(con, agent_id, baseline, candidate)
        counts = _scenario_counts(con, agent, (base, cand), by, metric)
    if counts.is_empty():
        which = f"metric {metric!r}" if metric is not None else "any metric"
        raise DataError(
            f"no data: agent {agent} has no evaluated results of {which} in {base!r} or {cand!r}"
        )
    by_cell = strata_by_cell(counts, (base, cand), ("metric_id", "dim_key"))
    labels = counts.group_by("metric_id", "dim_key").agg(
        pl.col("metric_name").first(), pl.col("dim_label").first()
    )
    first = {(r["metric_id"], r["dim_key"]): r for r in labels.iter_rows(named=True)}
    keys = sorted(by_cell, key=lambda k: (k[0], "" if k[1] is None else str(k[1])))
    per_cell = [by_cell[k] for k in keys]
    comparisons = [compare_stratified(s, min_n=min_n) for s in per_cell]
    judged = verdicts(comparisons, alpha=alpha, max_drop=max_drop, strict=strict)
    dim = DIMENSION[by]
    out = []
    for key, cell_strata, cmp, verdict in zip(keys, per_cell, comparisons, judged, strict=True):
        cell = first[key]
        value = None
        if dim is not None:
            value = cell["dim_label"] or cell["dim_key"] or "(none)"
        share = flaky_share(cell_strata)
        name = dim and dim[0]
        out.append(Cell(int(key[0]), cell["metric_name"], name, value, cmp, verdict, share))
    return VersionComparison(agent, base, cand, by, alpha, max_drop, min_n, strict, out)


def compare_versions(
    data_dir: Source,
    metric: str | int | None = None,
    baseline: str | int = PREVIOUS,
    candidate: str | int = LATEST,
    *,
    agent_id: int | None = None,
    by: str = "metric",
    alpha: float = ALPHA,
    max_drop: float = MAX_DROP,
    min_n: int = MIN_N,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
    a: str | None = None,
    b: str | None = None,
) -> pl.DataFrame:
    """Per cell, the candidate version against the baseline, scenario by scenario, with its
    verdict: ``worse``, ``better``, ``no difference`` or ``insufficient``.

    Versions: ``previous``/``latest``, a label or an agent-version id (``a``/``b`` are the
    deprecated names of ``baseline``/``candidate``). The agent: ``agent_id``, else the one with
    most results among those having the versions. ``metric`` (name or id) keeps one metric;
    ``by`` adds language or personality to each cell. Columns: the cell, both sides' runs,
    scenarios, rate and clustered interval, the scenarios run on one side only (named), the
    naive and the scenario-matched (Mantel-Haenszel) change with its interval, the mix shift,
    the test and both one-sided p-values with Holm's correction, ``verdict``, ``reason``,
    ``drop`` and ``fails_gate`` (worse by more than ``max_drop``). Worst first.
    """
    return compare(
        data_dir,
        agent_id,
        baseline=a if a is not None else baseline,
        candidate=b if b is not None else candidate,
        metric=metric,
        by=by,
        alpha=alpha,
        max_drop=max_drop,
        min_n=min_n,
        rules=rules,
        as_of=as_of,
    ).frame()


__all__ = [
    "DIMENSION",
    "LATEST",
    "PREVIOUS",
    "Cell",
    "VersionComparison",
    "agent_versions",
    "check_settings",
    "compare",
    "compare_versions",
    "flaky_share",
    "pick_versions",
    "strata",
    "strata_by_cell",
]
