"""Did the suggestions work? Each finished improve-prompt job against the version shipped after it.

The view ``improve_impact`` (``sql/91_improve_impact.sql``) pairs every completed prompt job
and each metric its run failed with "before" (the agent version the run used) and "after"
(the agent's next version first seen after the job finished). :func:`improve_impact` tests
each pair like the release gate does (:func:`cekura_analytics.stats.compare_counts`: Fisher
exact for small counts, z otherwise), in both directions, with Holm's correction over all
those one-sided tests together (jobs on runs of the same version share one comparison, tested
once), and gives a verdict:

* ``not yet shipped``: no later version of the agent has results yet;
* ``improved`` / ``worse``: the after version passes the metric significantly more / less;
* ``no evidence``: neither, including pairs with fewer than ``min_n`` results on a side.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..analysis.stats import compare_counts, holm
from ..defaults import ALPHA, MIN_N
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

    Columns: those of the ``improve_impact`` view plus ``test``, ``p_better``, ``p_worse``
    (one-sided), ``p_holm_better``, ``p_holm_worse`` and ``verdict``.
    """
    with opened(data_dir, rules, as_of=as_of) as con:
        df = fetch(
            con,
            "select * from improve_impact"
            " where $agent_id is null or agent_id = cast($agent_id as bigint)",
            {"agent_id": agent_id},
        )
    rows = df.to_dicts()
    # jobs on runs of the same version share one comparison: test each distinct pair once
    tests: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        key = (r["agent_id"], r["before_version"], r["after_version"], r["metric_id"])
        if r["after_version"] is None or key in tests:
            continue
        cmp = compare_counts(
            int(r["n_passed_before"]),
            int(r["n_before"]),
            int(r["n_passed_after"]),
            int(r["n_after"]),
            min_n,
        )
        tests[key] = {"test": cmp.test, "p_better": cmp.p_better, "p_worse": cmp.p_worse}
    # one family: both directions of every tested pair
    family = [(key, side) for key, t in tests.items() for side in ("better", "worse")
              if t[f"p_{side}"] is not None]  # fmt: skip
    adjusted = holm([tests[key][f"p_{side}"] for key, side in family])
    for (key, side), p in zip(family, adjusted, strict=True):
        tests[key][f"p_holm_{side}"] = p
    for r in rows:
        t = tests.get((r["agent_id"], r["before_version"], r["after_version"], r["metric_id"]), {})
        better, worse = t.get("p_holm_better"), t.get("p_holm_worse")
        if r["after_version"] is None:
            verdict = NOT_SHIPPED
        elif better is not None and better < alpha:
            verdict = IMPROVED
        elif worse is not None and worse < alpha:
            verdict = WORSE
        else:
            verdict = NO_EVIDENCE
        r |= {"test": t.get("test"), "p_better": t.get("p_better"), "p_worse": t.get("p_worse")}
        r |= {"p_holm_better": better, "p_holm_worse": worse, "verdict": verdict}
    extra = {
        "test": pl.String,
        **{c: pl.Float64 for c in ("p_better", "p_worse", "p_holm_better", "p_holm_worse")},
        "verdict": pl.String,
    }
    return pl.DataFrame(rows, schema={**df.schema, **extra})


__all__ = [
    "IMPROVED",
    "NOT_SHIPPED",
    "NO_EVIDENCE",
    "VERDICTS",
    "WORSE",
    "improve_impact",
]
