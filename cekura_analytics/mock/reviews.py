"""Planted human reviews: which runs a reviewer looked at, and where the judge was wrong.

The way teams review (what ``review-agreement`` must recover):

* Only completed runs are reviewed, and failures far more often than passes: every run
  whose judge failed Policy Compliance (310), a run failing another *critical* metric
  (binary and numeric metrics; :data:`PRIORITY`) with probability 0.7, a run failing only
  non-critical metrics 0.5, a run the judge passed 0.15 (:data:`REVIEW_IF_FAILED`,
  :data:`REVIEW_IF_PASSED`). A 4,000-run mock then holds at least 20 reviewed failures of
  every metric (the rarest, Policy Compliance, fails 24-57 times in seeds 0-39).
* A reviewed run has ``is_reviewed: true``; each failed metric's critical category (one per
  failed metric, ``category_id`` = the metric id) is overturned -- ``wrongly_marked: true``, a
  reviewer's ``feedback`` text, ``priority: "not_a_bug"`` -- with the metric's planted
  :data:`OVERTURN_RATE`: 3-12 %, except Customer Sentiment (309), the miscalibrated metric,
  at 40 %. Upheld failures keep ``wrongly_marked: false``, ``feedback: ""`` and the metric's
  priority. The metric items keep the judge's verdict.
* A run the judge passed (every metric passed) is failed by its reviewer with probability
  :data:`MISSED_RATE` (8 %, the same for every run, so every metric's run-level missed rate
  is 8 %); the run's ``feedback`` then says what the judge missed.
* ``evaluation_status`` is the reviewer's verdict: ``reviewed_success`` when the judge passed
  the run and the reviewer agreed, or when every failure was overturned; else
  ``reviewed_failure``. Unreviewed runs keep ``success`` / ``failure`` (the judge's).

Every draw is a counter hash of (seed, run id) -- per metric for the overturns -- so a run's
review is the same whenever it is rendered; :func:`review_of` (one run, rendering) and
:func:`review_frame` (all runs, vectorised) are twins. Selection depends on the judge's
verdicts only and the overturns are independent of it, so the overturn rate among reviewed
failures is the planted one; ``GET /_mock/reviews`` gives :func:`review_truth`.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

import polars as pl

from . import catalog as C
from .data import COMPLETED, MockData, hash_ids, hash_key, hash_one, unit

#: priority of an upheld critical category: binary and numeric metrics are critical
PRIORITY = tuple(
    "critical" if m.eval_type in ("binary", "numeric") else "non-critical" for m in C.METRICS
)
NOT_A_BUG = "not_a_bug"
#: chance that a completed run is reviewed when the judge failed a metric (the run takes the
#: highest of its failed metrics'): every policy breach goes to a human, critical failures
#: mostly, the rest half the time; a run the judge passed is reviewed with REVIEW_IF_PASSED
REVIEW_IF_FAILED = {m.id: 1.0 if m.id == 310 else 0.7 if p == "critical" else 0.5
                    for m, p in zip(C.METRICS, PRIORITY, strict=True)}  # fmt: skip
REVIEW_IF_PASSED = 0.15
#: metric id -> share of its reviewed failures a reviewer overturns (marks wrongly_marked)
OVERTURN_RATE = {301: 0.05, 302: 0.08, 303: 0.03, 304: 0.10, 305: 0.03, 306: 0.12, 307: 0.07,
                 308: 0.06, 309: 0.40, 310: 0.04}  # fmt: skip
MISCALIBRATED = 309  # the metric whose judge reviewers overturn most
#: share of reviewed runs the judge passed that the reviewer fails (run level)
MISSED_RATE = 0.08
# hash salts (data.py uses 1-10 and 1000+, modes.py 2000+, wire.py 21-22)
S_REVIEW, S_MISSED, S_TEXT, S_OVERTURN = 31, 32, 33, 3000

#: (probability, metric bits having it), most likely first: a run takes the first that it fails
_TIERS = [
    (p, sum(1 << mi for mi, m in enumerate(C.METRICS) if REVIEW_IF_FAILED[m.id] == p))
    for p in sorted(set(REVIEW_IF_FAILED.values()), reverse=True)
]
_MASK = [sum(1 << mi for mi in sc.metric_idx) for sc in C.SCENARIOS]
_OVERTURN = [OVERTURN_RATE[m.id] for m in C.METRICS]

#: metric id -> what a reviewer writes when overturning its failure (untrusted text)
OVERTURN_FEEDBACK: dict[int, str] = {
    301: "The slot was booked; the confirmation came after the judge stopped reading.",
    302: "Transfer was right: the caller asked for billing and reached billing.",
    303: "No infrastructure problem on the recording; the silence is the caller thinking.",
    304: "The agent followed its instructions; that step is optional for returning callers.",
    305: "Latency spike came from the caller's network, not the agent.",
    306: "Warm enough for this caller; the judge wants more apologising than the policy asks.",
    307: "Clear answers; the judge counted the required disclaimer as verbosity.",
    308: "Names were pronounced correctly; the judge misheard the recording.",
    309: 'Caller ended satisfied ("great, thanks!"): a curt tone is not negative sentiment.',
    310: "No breach: the agent quoted the published price list, which is allowed.",
}
#: shared notes, chosen instead of the metric's note for about a third of the overturns
GENERIC_FEEDBACK = (
    "+1, the agent handled this fine. Not a bug.",
    "Re-listened twice & disagree with the judge <not a failure>.",
)
#: what the reviewer writes on a run the judge passed and the reviewer failed (run feedback)
MISSED_FEEDBACK = (
    "Judge passed this, but the agent never confirmed the caller's name.",
    "Passed by the judge, yet the caller had to call back: the issue is not solved.",
    "The agent talked over the caller twice; this should not pass.",
)


class Review(NamedTuple):
    """A reviewed run: the failed metrics the reviewer overturned (bits by metric index),
    whether the reviewer passed the run, and the missed-problem note (run feedback)."""

    overturned: int
    passed: bool
    feedback: str


@cache
def _key(seed: int, salt: int) -> int:
    return hash_key(seed, salt)


def _u(seed: int, salt: int, run_id: int) -> float:
    """Uniform [0, 1) draw of one run under one salt (scalar twin of the vectorised draws)."""
    return hash_one(_key(seed, salt), run_id) / 4294967296.0


def review_probability(failed: int) -> float:
    """Chance a completed run is reviewed, from its failed metrics (bits by metric index)."""
    return next((p for p, bits in _TIERS if failed & bits), REVIEW_IF_PASSED)


def review_of(data: MockData, row: dict[str, Any]) -> Review | None:
    """The review of one run (an index row), or None when nobody reviewed it."""
    if row["status"] != COMPLETED:
        return None
    seed, run_id = data.seed, row["id"]
    failed = _MASK[row["scen"]] & ~row["bits"]
    if _u(seed, S_REVIEW, run_id) >= review_probability(failed):
        return None
    overturned = 0
    for mi in C.SCENARIOS[row["scen"]].metric_idx:
        if failed >> mi & 1 and _u(seed, S_OVERTURN + mi, run_id) < _OVERTURN[mi]:
            overturned |= 1 << mi
    if failed:
        return Review(overturned, overturned == failed, "")
    if _u(seed, S_MISSED, run_id) < MISSED_RATE:
        text = MISSED_FEEDBACK[hash_one(_key(seed, S_TEXT), run_id) % len(MISSED_FEEDBACK)]
        return Review(0, False, text)
    return Review(0, True, "")


def category_review(
    data: MockData, run_id: int, metric_idx: int, review: Review | None
) -> tuple[bool, str, str]:
    """(wrongly_marked, feedback, priority) of a failed metric's critical category."""
    if review is None or not review.overturned >> metric_idx & 1:
        return False, "", PRIORITY[metric_idx]
    pick = hash_one(_key(data.seed, S_TEXT + 1 + metric_idx), run_id) % 6
    text = GENERIC_FEEDBACK[pick - 4] if pick >= 4 else OVERTURN_FEEDBACK[C.METRICS[metric_idx].id]
    return True, text, NOT_A_BUG


def review_frame(data: MockData) -> pl.DataFrame:
    """Every reviewed run: ``id, agent, ver, scen, result, failed, overturned, passed``
    (``failed``/``overturned`` are bits by metric index; ``passed`` is the reviewer's verdict)."""
    with data.lock:
        runs = data.runs.filter(pl.col("status") == COMPLETED)
    ids = runs["id"]
    mask = pl.Series(_MASK, dtype=pl.Int64).gather(runs["scen"].cast(pl.Int64))
    failed = mask & ~runs["bits"].cast(pl.Int64)
    chain: Any = pl
    for p, bits in _TIERS:
        chain = chain.when((pl.lit(failed) & bits) != 0).then(p)
    chance = pl.select(chain.otherwise(REVIEW_IF_PASSED)).to_series()
    reviewed = unit(hash_ids(_key(data.seed, S_REVIEW), ids)) < chance
    overturned = pl.Series([0] * len(ids), dtype=pl.Int64)
    for mi, rate in enumerate(_OVERTURN):
        hit = unit(hash_ids(_key(data.seed, S_OVERTURN + mi), ids)) < rate
        overturned = overturned | (hit.cast(pl.Int64) * (1 << mi))
    overturned = overturned & failed
    missed = unit(hash_ids(_key(data.seed, S_MISSED), ids)) < MISSED_RATE
    passed = pl.select(
        pl.when(pl.lit(failed) != 0).then(pl.lit(overturned) == pl.lit(failed))
        .otherwise(~pl.lit(missed))
    ).to_series()  # fmt: skip
    return (
        runs.select("id", "agent", "ver", "scen", "result")
        .with_columns(failed=failed, overturned=overturned, passed=passed)
        .filter(reviewed)
    )


def planted_reviews() -> list[dict[str, Any]]:
    """Per metric: the planted overturn rate, the (run-level) missed rate and the priority."""
    return [
        {"metric_id": m.id, "metric_name": m.name, "priority": PRIORITY[mi],
         "overturn_rate": OVERTURN_RATE[m.id], "missed_rate": MISSED_RATE}
        for mi, m in enumerate(C.METRICS)
    ]  # fmt: skip


def review_truth(data: MockData) -> dict[str, Any]:
    """The planted review rates with the counts the mock's reviews realise.

    Per metric: ``n_reviewed_failed`` (the metric failed on a reviewed run), ``n_overturned``
    (of those, wrongly marked), ``n_reviewed_passed`` (reviewed runs having the metric on
    which every metric passed) and ``n_missed`` (of those, failed by the reviewer). Per agent,
    the run-level 2x2 of the judge's verdict (every metric passed) against the reviewer's.
    """
    reviews = review_frame(data)
    judge_ok = reviews["failed"] == 0
    metrics = []
    for row in planted_reviews():
        bit = 1 << C.METRIC_BY_ID[row["metric_id"]]
        has = (pl.Series(_MASK, dtype=pl.Int64).gather(reviews["scen"].cast(pl.Int64)) & bit) != 0
        failed = (reviews["failed"] & bit) != 0
        clean = has & judge_ok
        metrics.append(
            row
            | {
                "n_reviewed_failed": int(failed.sum()),
                "n_overturned": int(((reviews["overturned"] & bit) != 0).sum()),
                "n_reviewed_passed": int(clean.sum()),
                "n_missed": int((clean & ~reviews["passed"]).sum()),
            }
        )
    agents = []
    for ai, agent in enumerate(C.AGENTS):
        mine = reviews["agent"] == ai
        judge, reviewer = judge_ok.filter(mine), reviews["passed"].filter(mine)
        agents.append(
            {
                "agent_id": agent.id,
                "n_reviewed": int(mine.sum()),
                "n_both_passed": int((judge & reviewer).sum()),
                "n_judge_passed_reviewer_failed": int((judge & ~reviewer).sum()),
                "n_judge_failed_reviewer_passed": int((~judge & reviewer).sum()),
                "n_both_failed": int((~judge & ~reviewer).sum()),
            }
        )
    return {
        "review_if_failed": {str(k): v for k, v in REVIEW_IF_FAILED.items()},
        "review_if_passed": REVIEW_IF_PASSED,
        "missed_rate": MISSED_RATE,
        "miscalibrated_metric_id": MISCALIBRATED,
        "metrics": metrics,
        "agents": agents,
    }


__all__ = [
    "MISSED_RATE",
    "OVERTURN_RATE",
    "PRIORITY",
    "REVIEW_IF_FAILED",
    "REVIEW_IF_PASSED",
    "Review",
    "category_review",
    "planted_reviews",
    "review_frame",
    "review_of",
    "review_truth",
]
