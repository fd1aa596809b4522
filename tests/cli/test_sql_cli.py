"""The ``sql`` command: the statement from the argument, stdin or a file; parameters that the
statement does not use (or lacks) are a one-line error, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import result, run, write_tables

from cekura_analytics.cli import cli

STATEMENT = "select count(*) as n from metric_results where metric_id = $m"


@pytest.fixture
def data_dir(tmp_path: Path) -> str:
    rows = [result(1, 7, score=1.0), result(2, 7, score=0.0), result(2, 8, score=1.0)]
    return str(write_tables(tmp_path / "d", runs=[run(1), run(2)], run_metrics=rows))


def sql(data_dir: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["sql", "--data-dir", data_dir, "--format", "csv", *args], input=stdin
    )
    return res.exit_code, res.output.rstrip("\n")


def test_statement_from_the_argument_stdin_or_a_file(data_dir: str, tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text(STATEMENT + "\n")
    answers = [
        sql(data_dir, STATEMENT, "--param", "m=7"),
        sql(data_dir, "-", "--param", "m=7", stdin=STATEMENT),
        sql(data_dir, "--file", str(tmp_path / "q.sql"), "--param", "m=7"),
    ]
    assert answers == [(0, "n\n2")] * 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["select 1 as x", "--param", "n=3"], "--param n: the statement has no $n"),
        ([STATEMENT, "--param", "m=7", "--param", "typo=1"], "--param typo: the statement has"),
        ([STATEMENT], "the statement uses $m: give its value with --param m=VALUE"),
        (["select ? as x", "--param", "n=1"], "? placeholders"),
        (["   "], "no SQL given"),
        ([], "give the SQL once"),
        (["select 1", "--file", "q.sql"], "give the SQL once"),
        (["--file", "missing.sql"], "--file missing.sql: cannot read it"),
    ],
    ids=["unused", "one-unused", "missing", "positional", "empty", "none", "both", "no-file"],
)
def test_bad_sql_input_is_one_line_exit_2(data_dir: str, args: list[str], words: str) -> None:
    code, out = sql(data_dir, *args)
    lines = out.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), out
    assert words in lines[0], out


def test_a_dollar_inside_a_string_is_not_a_parameter(data_dir: str) -> None:
    assert sql(data_dir, "select '$n' as x") == (0, "x\n$n")
