"""The rules file: thresholds and pass-sets, errors that name the line."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from factories import result, run, write_tables

from cekura_analytics.errors import ConfigError
from cekura_analytics.warehouse.connection import connect, query, warn_unmatched_rules
from cekura_analytics.warehouse.rules import Rules, load_rules, rules_path, unmatched_keys

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


# -- a rules-file key that names no metric ----------------------------------------------------
def test_a_misspelt_metric_name_is_warned_about_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    f = tmp_path / "cekura-analytics.toml"
    f.write_text('thresholds = { "Empathyy" = 4, "Clarity" = 3, "7" = 1, "99" = 2 }\n')
    rows = [result(1, 7, metric_name="Empathy", score=5.0), result(1, 8, metric_name="Clarity")]
    write_tables(tmp_path, runs=[run(1)], run_metrics=rows)
    with caplog.at_level("WARNING", logger="cekura_analytics.warehouse"):
        got = query(tmp_path, "select metric_name, passed from metric_results order by 1")
    # the misspelt rule applies to nothing: Empathy's score 5 stays unknown
    assert got.rows() == [("Clarity", None), ("Empathy", None)]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"warning: {f}: no metric is named '99' (no close name); its rule applies to nothing",
        f"warning: {f}: no metric is named 'Empathyy' (did you mean 'Empathy'?); its rule "
        "applies to nothing",
    ]
    caplog.clear()
    with caplog.at_level("WARNING", logger="cekura_analytics.warehouse"):
        query(tmp_path, "select 1")
    assert not caplog.records  # once per process: a notebook connects many times


def test_rules_are_not_checked_against_an_empty_catalogue(tmp_path: Path) -> None:
    rules = Rules({"Anything": 1.0}, {}, tmp_path / "r.toml")
    assert unmatched_keys(rules, []) == []
    assert unmatched_keys(rules, [(1, "Anything else")]) == [
        f"{tmp_path / 'r.toml'}: no metric is named 'Anything' (did you mean 'Anything else'?);"
        " its rule applies to nothing"
    ]


def test_the_check_cannot_break_a_connection(caplog: pytest.LogCaptureFixture) -> None:
    """A connection without the catalogue (a view that failed to define) gets no warning and
    no error from the check."""
    bare = duckdb.connect()
    try:
        warn_unmatched_rules(bare, Rules({"Nope": 1.0}, {}, Path("r.toml")))
        assert bare.execute("select 42").fetchall() == [(42,)]
    finally:
        bare.close()
    assert not caplog.records
