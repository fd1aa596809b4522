"""Did the suggestions work? Each finished improve-prompt job against the version shipped after it.

The view ``improve_impact`` (``sql/marts/91_improve_impact.sql``) pairs every completed prompt
job and each metric its run failed with "before" (the agent version the run used) and "after"
(the agent's next version first seen after the job finished). :func:`improve_impact` compares
each pair as the release gate does: the one comparison, scenario by scenario
(:func:`cekura_analytics.analysis.stats.compare_stratified`), one family of cells judged by
:func:`~cekura_analytics.analysis.stats.verdicts` with Holm's correction (jobs on runs of the
same version share one comparison, tested once). The verdicts:

* ``not yet shipped``: no later version of the agent has results yet;
* ``improved`` / ``worse``: the after version passes the metric significantly more / less;
* ``no evidence``: neither, including pairs that could not be tested.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..analysis.stats import BETTER, INSUFFICIENT, NO_DIFFERENCE, compare_stratified, verdicts
from ..analysis.stats import WORSE as WORSE_CMP
from ..analysis.versions import strata
from ..defaults import ALPHA, MIN_N
from ..scope import check_agent
from ..warehouse.connection import Source, fetch, opened

IMPROVED, NO_EVIDENCE, WORSE, NOT_SHIPPED = "improved", "no evidence", "worse", "not yet shipped"
VERDICTS = (IMPROVED, NO_EVIDENCE, WORSE, NOT_SHIPPED)


def improve_impact(
    data_dir: Source,
    *,
    alpha: float = ALPHA,
    min_n: int = MIN_N,
    agent_id: int | None = None,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """Per finished prompt job × targeted metric: before/after rates, intervals, verdict.

    Columns: those of the ``improve_impact`` view, then the scenario-matched ``change`` with
    its interval, ``test``, ``p_better``, ``p_worse``, ``p_holm_better``, ``p_holm_worse``,
    ``verdict`` and ``reason``.
    """
    with opened(data_dir, rules, as_of=as_of) as con:
        check_agent(con, agent_id)
        df = fetch(
            con,
            "select * from improve_impact"
            " where $agent_id is null or agent_id = cast($agent_id as bigint)",
            {"agent_id": agent_id},
        )
        pairs = sorted(
            {(r["agent_id"], r["before_version"], r["after_version"], r["metric_id"])
             for r in df.iter_rows(named=True) if r["after_version"] is not None}
        )  # fmt: skip
        counts = _scenario_counts(con, pairs)
    by_version: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = {}
    for r in counts.iter_rows(named=True):
        by_version.setdefault((r["agent_id"], r["metric_id"], r["agent_version"]), []).append(r)

    def rows_of(pair: tuple[Any, ...]) -> list[dict[str, Any]]:
        agent, before, after, metric = pair
        return by_version.get((agent, metric, before), []) + by_version.get(
            (agent, metric, after), []
        )

    cmps = [compare_stratified(strata(rows_of(p), (p[1], p[2])), min_n=min_n) for p in pairs]
    judged = dict(zip(pairs, zip(cmps, verdicts(cmps, alpha=alpha), strict=True), strict=True))
    rows = []
    for r in df.iter_rows(named=True):
        key = (r["agent_id"], r["before_version"], r["after_version"], r["metric_id"])
        cmp, v = judged.get(key, (None, None))
        verdict = (
            NOT_SHIPPED if r["after_version"] is None else _VERDICT[v.verdict] if v else NO_EVIDENCE
        )
        r |= {
            "change": cmp.change if cmp else None,
            "ci_low_change": cmp.ci_low_change if cmp else None,
            "ci_high_change": cmp.ci_high_change if cmp else None,
            "test": cmp.method if cmp else None,
            "p_better": cmp.p_better if cmp else None,
            "p_worse": cmp.p_worse if cmp else None,
            "p_holm_better": v.p_holm_better if v else None,
            "p_holm_worse": v.p_holm_worse if v else None,
            "verdict": verdict,
            "reason": v.reason if v else None,
        }
        rows.append(r)
    extra = {
        **dict.fromkeys(("change", "ci_low_change", "ci_high_change"), pl.Float64),
        "test": pl.String,
        **dict.fromkeys(("p_better", "p_worse", "p_holm_better", "p_holm_worse"), pl.Float64),
        "verdict": pl.String,
        "reason": pl.String,
    }
    return pl.DataFrame(rows, schema={**df.schema, **extra})


#: the comparison's verdict -> what it says of a suggestion
_VERDICT = {
    BETTER: IMPROVED,
    WORSE_CMP: WORSE,
    NO_DIFFERENCE: NO_EVIDENCE,
    INSUFFICIENT: NO_EVIDENCE,
}


def _scenario_counts(con: Any, pairs: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Passes and results per agent × version × metric × scenario, for the pairs' versions."""
    wanted = [(p[0], v, p[3]) for p in pairs for v in (p[1], p[2])]
    if not wanted:  # an empty parameter list has no columns to join on
        schema = {"agent_id": pl.Int64, "agent_version": pl.String, "metric_id": pl.Int64}
        return pl.DataFrame(schema=schema)
    return fetch(
        con,
        # the counted cells (metric_cells), not the single results: same sums, no row scan
        "select c.agent_id, c.agent_version, c.metric_id, c.scenario_id,"
        " any_value(s.scenario_name) as scenario_name,"
        " cast(sum(c.n_evaluated) as bigint) as n, cast(sum(c.n_passed) as bigint) as k"
        " from metric_cells as c"
        " left join int_scenarios as s on s.scenario_id = c.scenario_id"
        " semi join (select unnest($wanted, recursive := true)) as w"
        " on w.agent_id = c.agent_id and w.agent_version = c.agent_version"
        " and w.metric_id = c.metric_id"
        " group by c.agent_id, c.agent_version, c.metric_id, c.scenario_id",
        {"wanted": [{"agent_id": a, "agent_version": v, "metric_id": m} for a, v, m in wanted]},
    )


__all__ = [
    "IMPROVED",
    "NOT_SHIPPED",
    "NO_EVIDENCE",
    "VERDICTS",
    "WORSE",
    "improve_impact",
]
