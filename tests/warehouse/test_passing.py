"""The pass rule: conditions, the order of the steps, SQL and Python agreeing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories import result, run, write_tables

from cekura_analytics.warehouse.connection import query
from cekura_analytics.warehouse.passing import decide, decide_with_rule, parse_condition

# -- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("score gte 5", ("gte", 5.0)),
        ("score gt 5.5", ("gt", 5.5)),
        ("score lte 3", ("lte", 3.0)),
        ("score lt -1", ("lt", -1.0)),
        ("score eq 2", ("eq", 2.0)),
        ("Score >= 6", ("gte", 6.0)),
        ("GTE 2", ("gte", 2.0)),
        ("score == 1", ("eq", 1.0)),
        ("score  gte 7", ("gte", 7.0)),
        ("score between 1 and 5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_condition(text: str | None, want: Any) -> None:
    assert parse_condition(text) == want


DECIDE_CASES: list[tuple[tuple[Any, ...], bool | None]] = [
    # rubric passed wins over everything
    (("binary", 0.0, None, True, None), True),
    (("numeric", 9.0, None, False, "score gte 5"), False),
    # binary
    (("binary", 1.0, None, None, None), True),
    (("binary", 0.0, None, None, None), False),
    (("Binary", 2.0, None, None, None), True),
    (("binary", None, None, None, None), None),
    (("binary", True, None, None, None), True),  # a boolean score as it is
    (("binary", False, None, None, None), False),
    # legacy binary items (before July 2026): another type name and a 0/5 score
    (("binary_workflow_adherence", 5.0, None, None, None), True),
    (("binary_workflow_adherence", 0.0, None, None, None), False),
    (("Binary_Qualitative", 5.0, None, None, None), True),
    # canonical binary items: the item's own passed, after the rubric, before the score
    (("binary", 5.0, None, None, None, None, None, False), False),
    (("binary", None, None, None, None, None, None, True), True),
    (("binary", 0.0, None, True, None, None, None, False), True),
    (("numeric", 1.0, None, None, "score gte 5", None, None, True), True),
    # numeric / continuous_qualitative: conditions, then the rules threshold
    (("numeric", 5.0, None, None, "score gte 5"), True),
    (("numeric", 5.0, None, None, "score gt 5"), False),
    (("numeric", 2.0, None, None, "score lte 3"), True),
    (("numeric", 3.0, None, None, "score lt 3"), False),
    (("numeric", 5.0, None, None, "score eq 5"), True),
    (("continuous_qualitative", 0.8, None, None, None, 0.7), True),
    (("Continuous-Qualitative", 0.6, None, None, None, 0.7), False),
    (("numeric", 6.0, None, None, "score gte 7", 4.0), False),  # condition beats rules
    (("numeric", 6.0, None, None, "score between 1 and 9", 4.0), True),  # unreadable
    (("numeric", 6.0, None, None, None), None),
    (("numeric", None, None, None, "score gte 5"), None),
    # enum
    (("enum", None, "positive", None, None, None, ["positive", "neutral"]), True),
    (("enum", None, "negative", None, None, None, ["positive", "neutral"]), False),
    (("enum", None, "positive", None, None), None),
    (("enum", None, None, None, None, None, ["positive"]), None),
    # anything else
    ((None, 1.0, None, None, None), None),
    (("llm_judge", 1.0, None, None, None), None),
]


@pytest.mark.parametrize(("args", "want"), DECIDE_CASES)
def test_decide(args: tuple[Any, ...], want: bool | None) -> None:
    assert decide(*args) is want


def test_sql_rule_equals_python(tmp_path: Path) -> None:
    """Every case of test_decide, through the views."""
    cases = [args for args, _ in DECIDE_CASES]
    runs, rows, metrics, thresholds, sets = [], [], [], {}, {}
    for i, args in enumerate(cases, start=1):
        eval_type, score, value, rubric, cond, *rest = [*args, None, None, None][:8]
        runs.append(run(i))
        metrics.append({"metric_id": i, "name": f"m{i}", "eval_type": eval_type})
        rows.append(
            result(
                i,
                i,
                score=score,
                value=value,
                rubric_passed=rubric,
                rubric_conditions=cond,
                metric_passed=rest[2],
            )
        )
        if rest[0] is not None:
            thresholds[f"m{i}"] = rest[0]
        if rest[1] is not None:
            sets[str(i)] = rest[1]  # keyed by id this time
    write_tables(tmp_path, runs=runs, run_metrics=rows, metrics=metrics)
    toml = "\n".join(
        ["[thresholds]", *(f'"{k}" = {v}' for k, v in thresholds.items()), "[pass_values]"]
        + [f'"{k}" = {v!r}'.replace("'", '"') for k, v in sets.items()]
    )
    (tmp_path / "r.toml").write_text(toml)
    got = query(tmp_path, "select run_id, passed, pass_rule from metric_results order by run_id",
                rules=tmp_path / "r.toml")  # fmt: skip
    want = [decide_with_rule(*[*a, None, None, None][:8]) for a in cases]
    assert list(zip(got["passed"], got["pass_rule"], strict=True)) == want
