"""When a metric result counts as passed: the pass rule (the rules file is :mod:`.rules`).

The SQL view ``metric_results`` (``sql/22_metric_results.sql``) applies the rule to every
``run_metrics`` row; :func:`decide` is the same rule for one row in Python (tests, twins).
For each row, in this order (``pass_rule`` names the step that decided):

1. the run's rubric gave a boolean ``passed`` for the metric -> that (``rubric``);
2. the metric item's own ``passed`` (canonical binary items since July 2026) -> that
   (``metric_passed``);
3. the metric's ``eval_type`` is ``binary`` -> ``score >= 1``: a boolean score as it is, 0/1,
   and the legacy 0/5 alike (``binary``; null score -> unknown);
4. ``numeric`` or ``continuous_qualitative`` -> the score against the rubric's condition
   (``score gte 5``; also ``gt``, ``lte``, ``lt``, ``eq``) (``conditions``), else
   ``score >= threshold`` from the rules file (``rules_threshold``); neither -> unknown;
5. ``enum`` -> the value is in the rules file's pass-set for the metric
   (``rules_pass_values``); none -> unknown.

``eval_type`` comes from the ``metrics`` table, falling back to ``run_metrics.eval_type``
(legacy names such as ``binary_workflow_adherence`` are normalised to ``binary``).

Thresholds and pass-sets come from the rules file (:mod:`cekura_analytics.rules`).
"""

from __future__ import annotations

import re

from ..lake.tables import normalise_eval_type

_COND_RE = re.compile(
    r"^\s*(?:score\s*)?(gte|gt|lte|lt|eq|>=|>|<=|<|==|=)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$"
)
_SYMBOLS = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt", "==": "eq", "=": "eq"}


def parse_condition(text: str | None) -> tuple[str, float] | None:
    """``'score gte 5'`` -> ``('gte', 5.0)``; also ``gt lte lt eq`` and ``>= > <= < ==``."""
    if text is None:
        return None
    m = _COND_RE.match(text.lower())
    if not m:
        return None
    return _SYMBOLS.get(m.group(1), m.group(1)), float(m.group(2))


def compare(score: float, op: str, threshold: float) -> bool:
    """``score <op> threshold`` for the condition operators."""
    return {
        "gte": score >= threshold,
        "gt": score > threshold,
        "lte": score <= threshold,
        "lt": score < threshold,
        "eq": score == threshold,
    }[op]


def decide(
    eval_type: str | None,
    score: float | None,
    value: str | None,
    rubric_passed: bool | None,
    rubric_conditions: str | None,
    threshold: float | None = None,
    pass_values: list[str] | None = None,
    metric_passed: bool | None = None,
) -> bool | None:
    """The pass rule for one result: True, False or None (unknown). See the module doc."""
    return decide_with_rule(
        eval_type,
        score,
        value,
        rubric_passed,
        rubric_conditions,
        threshold,
        pass_values,
        metric_passed,
    )[0]


def decide_with_rule(
    eval_type: str | None,
    score: float | None,
    value: str | None,
    rubric_passed: bool | None,
    rubric_conditions: str | None,
    threshold: float | None = None,
    pass_values: list[str] | None = None,
    metric_passed: bool | None = None,
) -> tuple[bool | None, str | None]:
    """The verdict and the step that decided it (``metric_results.pass_rule``), or None."""
    if rubric_passed is not None:
        return rubric_passed, "rubric"
    if metric_passed is not None:
        return metric_passed, "metric_passed"
    kind = normalise_eval_type(eval_type)
    if score is not None and kind == "binary":
        return score >= 1, "binary"  # 0/1, booleans and the legacy 0/5 alike
    if score is not None and kind in ("numeric", "continuous_qualitative"):
        cond = parse_condition(rubric_conditions)
        if cond is not None:
            return compare(score, *cond), "conditions"
        if threshold is not None:
            return score >= threshold, "rules_threshold"
    if kind == "enum" and value is not None and pass_values is not None:
        return value in pass_values, "rules_pass_values"
    return None, None


__all__ = [
    "compare",
    "decide",
    "decide_with_rule",
    "normalise_eval_type",
    "parse_condition",
]
