"""The pass rule (``metric_results``, the one definition, in SQL): conditions, the order of the
steps and the rule that decided, each case with its verdict written down by hand."""

from __future__ import annotations

from typing import Any

import pytest
from factories import result, run, write_tables

from cekura_analytics.warehouse.connection import query

#: (eval_type, score, value, rubric_passed, rubric_conditions, threshold, pass_values,
#:  metric_passed) -> (passed, pass_rule), as a person reads the rule
CASES: list[tuple[tuple[Any, ...], tuple[bool | None, str | None]]] = [
    # rubric passed wins over everything
    (("binary", 0.0, None, True, None), (True, "rubric")),
    (("numeric", 9.0, None, False, "score gte 5"), (False, "rubric")),
    # binary: score >= 1 (0/1, boolean and the legacy 0/5 alike)
    (("binary", 1.0, None, None, None), (True, "binary")),
    (("binary", 0.0, None, None, None), (False, "binary")),
    (("Binary", 2.0, None, None, None), (True, "binary")),
    (("binary", None, None, None, None), (None, None)),
    (("binary", True, None, None, None), (True, "binary")),
    (("binary", False, None, None, None), (False, "binary")),
    # legacy binary items (before July 2026): another type name and a 0/5 score
    (("binary_workflow_adherence", 5.0, None, None, None), (True, "binary")),
    (("binary_workflow_adherence", 0.0, None, None, None), (False, "binary")),
    (("Binary_Qualitative", 5.0, None, None, None), (True, "binary")),
    # canonical binary items: the item's own passed, after the rubric, before the score
    (("binary", 5.0, None, None, None, None, None, False), (False, "metric_passed")),
    (("binary", None, None, None, None, None, None, True), (True, "metric_passed")),
    (("binary", 0.0, None, True, None, None, None, False), (True, "rubric")),
    (("numeric", 1.0, None, None, "score gte 5", None, None, True), (True, "metric_passed")),
    # numeric / continuous_qualitative: the rubric's condition, then the rules threshold
    (("numeric", 5.0, None, None, "score gte 5"), (True, "conditions")),
    (("numeric", 5.0, None, None, "score gt 5"), (False, "conditions")),
    (("numeric", 2.0, None, None, "score lte 3"), (True, "conditions")),
    (("numeric", 3.0, None, None, "score lt 3"), (False, "conditions")),
    (("numeric", 5.0, None, None, "score eq 5"), (True, "conditions")),
    (("numeric", 6.0, None, None, "Score >= 6"), (True, "conditions")),
    (("numeric", 2.0, None, None, "GTE 2"), (True, "conditions")),
    (("numeric", 1.0, None, None, "score == 1"), (True, "conditions")),
    (("numeric", 6.0, None, None, "score  gte 7"), (False, "conditions")),
    (("numeric", -2.0, None, None, "score lt -1"), (True, "conditions")),
    (("numeric", 5.6, None, None, "score gt 5.5"), (True, "conditions")),
    (("continuous_qualitative", 0.8, None, None, None, 0.7), (True, "rules_threshold")),
    (("Continuous-Qualitative", 0.6, None, None, None, 0.7), (False, "rules_threshold")),
    (("numeric", 6.0, None, None, "score gte 7", 4.0), (False, "conditions")),  # beats rules
    (("numeric", 6.0, None, None, "score between 1 and 9", 4.0), (True, "rules_threshold")),
    (("numeric", 6.0, None, None, None), (None, None)),
    (("numeric", None, None, None, "score gte 5"), (None, None)),
    # enum: the value in the rules file's pass-set
    (
        ("enum", None, "positive", None, None, None, ["positive", "neutral"]),
        (True, "rules_pass_values"),
    ),
    (
        ("enum", None, "negative", None, None, None, ["positive", "neutral"]),
        (False, "rules_pass_values"),
    ),
    (("enum", None, "positive", None, None), (None, None)),
    (("enum", None, None, None, None, None, ["positive"]), (None, None)),
    # anything else is unknown
    ((None, 1.0, None, None, None), (None, None)),
    (("llm_judge", 1.0, None, None, None), (None, None)),
]


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, Any]]:
    """Every case as one metric of one run, through the views: (passed, pass_rule) in order."""
    d = tmp_path_factory.mktemp("rule")
    runs, rows, metrics, thresholds, sets = [], [], [], {}, {}
    for i, (args, _) in enumerate(CASES, start=1):
        eval_type, score, value, rubric, cond, threshold, pass_values, own = [*args, *[None] * 3][
            :8
        ]
        runs.append(run(i))
        metrics.append({"metric_id": i, "name": f"m{i}", "eval_type": eval_type})
        rows.append(
            result(i, i, score=score, value=value, rubric_passed=rubric, rubric_conditions=cond,
                   metric_passed=own)
        )  # fmt: skip
        if threshold is not None:
            thresholds[f"m{i}"] = threshold  # keyed by name ...
        if pass_values is not None:
            sets[str(i)] = pass_values  # ... and by id
    write_tables(d, runs=runs, run_metrics=rows, metrics=metrics)
    toml = "\n".join(
        ["[thresholds]", *(f'"{k}" = {v}' for k, v in thresholds.items()), "[pass_values]"]
        + [f'"{k}" = {v!r}'.replace("'", '"') for k, v in sets.items()]
    )
    (d / "r.toml").write_text(toml)
    got = query(d, "select run_id, passed, pass_rule from metric_results order by run_id",
                rules=d / "r.toml")  # fmt: skip
    return list(zip(got["passed"], got["pass_rule"], strict=True))


@pytest.mark.parametrize(("index", "want"), [(i, w) for i, (_, w) in enumerate(CASES)])
def test_the_rule_decides_as_written(decided: list[tuple[Any, Any]], index: int, want: Any) -> None:
    assert decided[index] == want, CASES[index][0]
