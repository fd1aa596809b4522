"""The pass rule, the rules file, Wilson intervals and the version comparison."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist
from typing import Any

import duckdb
import polars as pl
import pytest
from factories import T0, result, run, write_tables

from cekura_analytics.analysis import compare_versions
from cekura_analytics.errors import ConfigError, DataError
from cekura_analytics.passing import (
    Rules,
    decide,
    decide_with_rule,
    load_rules,
    parse_condition,
    rules_path,
    two_proportion_test,
    wilson_interval,
)
from cekura_analytics.views import connect, query, sql_dir

# -- Wilson -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),  # the rule of three's better-behaved cousin
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),  # Newcombe (1998), example of the Wilson interval
        (1, 1, 0.2065, 1.0),
        (0, 1, 0.0, 0.7935),
    ],
)
def test_wilson_known_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-5) and hi == pytest.approx(high, abs=5e-5)


def test_wilson_empty() -> None:
    assert wilson_interval(0, 0) == (None, None)


def test_sql_wilson_equals_python() -> None:
    con = duckdb.connect()
    con.execute((sql_dir() / "00_macros.sql").read_text())
    pairs = [(k, n) for n in (0, 1, 2, 3, 10, 57, 1000) for k in range(0, n + 1, max(1, n // 7))]
    for k, n in pairs:
        got = con.execute("select wilson_low(?, ?), wilson_high(?, ?), pass_rate(?, ?)",
                          [k, n, k, n, k, n]).fetchone()  # fmt: skip
        lo, hi = wilson_interval(k, n)
        assert got is not None
        assert got[0] == (None if lo is None else pytest.approx(lo, abs=1e-12)), (k, n)
        assert got[1] == (None if hi is None else pytest.approx(hi, abs=1e-12)), (k, n)
        assert got[2] == (None if n == 0 else pytest.approx(k / n)), (k, n)


# -- two-proportion test ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2"), [(50, 100, 65, 100), (30, 40, 10, 40), (3, 7, 4, 9), (1, 500, 9, 450)]
)
def test_two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> None:
    z, p = two_proportion_test(k1, n1, k2, n2)
    pooled = (k1 + k2) / (n1 + n2)
    want_z = (k2 / n2 - k1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert z == pytest.approx(want_z)
    assert p == pytest.approx(2 * (1 - NormalDist().cdf(abs(want_z))), abs=1e-12)


def test_two_proportion_known_value_and_edges() -> None:
    z, p = two_proportion_test(50, 100, 65, 100)
    assert z == pytest.approx(2.1456, abs=1e-4) and p == pytest.approx(0.0319, abs=1e-4)
    assert two_proportion_test(10, 10, 5, 5) == (0.0, 1.0)
    assert two_proportion_test(0, 0, 5, 5) == (None, None)


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


# -- the rules file -------------------------------------------------------------------------


def test_rules_file_loads_and_becomes_a_table(tmp_path: Path) -> None:
    f = tmp_path / "cekura-analytics.toml"
    f.write_text(
        'thresholds = { "Empathy" = 4, "12" = 0.5 }\n[pass_values]\n"Sentiment" = ["positive"]\n'
    )
    rules = load_rules(rules_path(tmp_path))
    assert rules == Rules({"Empathy": 4.0, "12": 0.5}, {"Sentiment": ["positive"]}, f)
    assert rules.for_metric(12, "Empathy") == (0.5, None)  # the id wins
    assert rules.for_metric(3, "Sentiment") == (None, ["positive"])
    write_tables(tmp_path, runs=[run(1)])
    con = connect(tmp_path)
    try:
        table = con.sql("select * from pass_rules order by metric_key").pl()
    finally:
        con.close()
    assert table["metric_key"].to_list() == ["12", "Empathy", "Sentiment"]
    assert table["metric_id_key"].to_list() == [12, None, None]


def test_no_rules_file_is_fine(tmp_path: Path) -> None:
    assert rules_path(tmp_path) is None
    assert load_rules(None) == Rules()


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('thresholds = { "Empathy" = 4 \n', 1, "invalid TOML"),
        ('\n\nthresholds = { "Empathy" = four }\n', 3, "invalid TOML"),
        ('# rules\nthreshold = { "Empathy" = 4 }\n', 2, "did you mean 'thresholds'"),
        ('thresholds = { "Empathy" = 4 }\npass_value = { "S" = ["a"] }\n', 2, "pass_values"),
        ('[thresholds]\n"Empathy" = 4\n"Tone" = "high"\n', 3, "must be a number"),
        ('thresholds = { "Empathy" = true }\n', 1, "must be a number"),
        ('[pass_values]\n"Sentiment" = "positive"\n', 2, "must be a list"),
        ('[pass_values]\nSentiment = [["a"]]\n', 2, "must be a list"),
        ("thresholds = 4\n", 1, "must be a table"),
    ],
)
def test_rules_file_typos_name_the_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    f = tmp_path / "rules.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_rules(f)
    message = str(err.value)
    assert str(f) in message and f"line {line}" in message and fragment in message
    assert "\n" not in message


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        rules_path(tmp_path, tmp_path / "nope.toml")


def test_connect_reports_a_bad_rules_file(tmp_path: Path) -> None:
    write_tables(tmp_path, runs=[run(1)])
    (tmp_path / "cekura-analytics.toml").write_text("thresholds = {\n")
    with pytest.raises(ConfigError, match=r"cekura-analytics\.toml: invalid TOML"):
        connect(tmp_path)


def test_changing_the_rules_needs_no_reextract(tmp_path: Path) -> None:
    write_tables(
        tmp_path,
        runs=[run(1)],
        run_metrics=[result(1, 1, score=5.0)],
        metrics=[{"metric_id": 1, "name": "Empathy", "eval_type": "numeric"}],
    )
    f = tmp_path / "cekura-analytics.toml"
    sql = "select passed from metric_results"
    assert query(tmp_path, sql)["passed"].to_list() == [None]
    f.write_text('thresholds = { "Empathy" = 4 }')
    assert query(tmp_path, sql)["passed"].to_list() == [True]
    f.write_text('thresholds = { "1" = 6 }')
    assert query(tmp_path, sql)["passed"].to_list() == [False]


# -- compare_versions ---------------------------------------------------------------------


def _versions_data(d: Path) -> Path:
    runs, rows = [], []
    rid = 0
    # agent 1: version "a1" then "a2" (Greeting drops from 90 % to 60 %); agent 2 is smaller
    for version, n, k, offset in (("a1", 100, 90, 0), ("a2", 100, 60, 1000)):
        for i in range(n):
            rid += 1
            runs.append(
                run(rid, agent_version=version, timestamp=T0.replace(day=1 + offset // 500))
            )
            rows.append(result(rid, 1, score=1.0 if i < k else 0.0))
            rows.append(result(rid, 2, score=1.0 if i % 2 else 0.0))
    for i in range(20):
        rid += 1
        runs.append(run(rid, agent_id=2, agent_version=f"b{i % 2}"))
        rows.append(result(rid, 1, score=1.0))
    metrics = [
        {"metric_id": 1, "name": "Greeting", "eval_type": "binary"},
        {"metric_id": 2, "name": "Coin", "eval_type": "binary"},
    ]
    return write_tables(d, runs=runs, run_metrics=rows, metrics=metrics)


def test_compare_versions(tmp_path: Path) -> None:
    d = _versions_data(tmp_path)
    df = compare_versions(d)
    assert df["metric_name"].to_list() == ["Greeting", "Coin"]  # biggest drop first
    g = df.row(0, named=True)
    assert (g["agent_id"], g["version_a"], g["version_b"]) == (1, "a1", "a2")
    assert (g["n_a"], g["n_passed_a"], g["n_b"], g["n_passed_b"]) == (100, 90, 100, 60)
    assert g["change"] == pytest.approx(-0.3)
    z, p = two_proportion_test(90, 100, 60, 100)
    assert g["z"] == pytest.approx(z) and g["p_value"] == pytest.approx(p)
    assert (g["ci_low_b"], g["ci_high_b"]) == pytest.approx(wilson_interval(60, 100))
    coin = df.row(1, named=True)
    assert coin["change"] == 0 and coin["p_value"] == pytest.approx(1.0)
    one = compare_versions(d, metric="Greeting", b="a2")
    assert one.height == 1 and one["version_a"][0] == "a1"
    assert compare_versions(d, metric="1").height == 1
    other = compare_versions(d, agent_id=2)
    assert set(other["version_a"]) | set(other["version_b"]) == {"b0", "b1"}
    with pytest.raises(DataError, match="no two agent versions"):
        compare_versions(d, a="a1", b="zz")
    assert isinstance(df, pl.DataFrame)
