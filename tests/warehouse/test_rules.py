"""The rules file: thresholds and pass-sets, errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import result, run, write_tables

from cekura_analytics.errors import ConfigError
from cekura_analytics.warehouse.connection import connect, query
from cekura_analytics.warehouse.rules import Rules, load_rules, rules_path

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
