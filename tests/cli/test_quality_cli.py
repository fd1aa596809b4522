"""The ``flaky`` and ``review-agreement`` commands: every format, the caveat, one-line errors."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import Planted
from polars.testing import assert_frame_equal

from cekura_analytics import flaky, review_agreement
from cekura_analytics.cli import cli
from cekura_analytics.lake.store import Store
from cekura_analytics.present.quality import trust_caveat


@pytest.mark.parametrize("by", ["metric", "scenario"])
def test_flaky_formats(planted_4k: Planted, tmp_path: Path, by: str) -> None:
    d = str(planted_4k.data_dir)
    want = flaky(d, by)
    table = CliRunner().invoke(cli, ["flaky", "--data-dir", d, "--by", by])
    assert table.exit_code == 0, table.output
    assert f"{want.height} rows" in table.output and "flaky" in table.output
    assert ("always passed" in table.output) == (by == "metric")
    csv = CliRunner().invoke(cli, ["flaky", "--data-dir", d, "--by", by, "--format", "csv"])
    got = pl.read_csv(io.StringIO(csv.stdout.strip()), schema=want.schema)
    assert_frame_equal(got, want, check_exact=False)
    js = CliRunner().invoke(cli, ["flaky", "--data-dir", d, "--by", by, "--format", "json"])
    assert [r["metric_id"] for r in json.loads(js.stdout)] == want["metric_id"].to_list()
    out = tmp_path / "f.parquet"
    pq = CliRunner().invoke(
        cli, ["flaky", "--data-dir", d, "--by", by, "--format", "parquet", "--out", str(out)]
    )
    assert pq.exit_code == 0 and pq.output.strip() == f"wrote {want.height} rows to {out}"
    assert_frame_equal(pl.read_parquet(out), want)


def test_flaky_options_narrow_the_cells(planted_4k: Planted) -> None:
    d = str(planted_4k.data_dir)
    args = ["flaky", "--data-dir", d, "--by", "scenario", "--metric", "Empathy", "--agent-id",
            "101", "--flaky-only", "--format", "json"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    want = flaky(d, "scenario", metric="Empathy", agent_id=101, flaky_only=True)
    assert len(rows) == want.height > 50
    assert {(r["metric_name"], r["agent_id"], r["is_flaky"]) for r in rows} == {
        ("Empathy", 101, True)
    }


def test_review_agreement_prints_rows_and_the_caveat(planted_4k: Planted) -> None:
    d = str(planted_4k.data_dir)
    res = CliRunner().invoke(cli, ["review-agreement", "--data-dir", d, "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)  # stdout holds the rows only
    want = review_agreement(d)
    assert [r["corrected_pass_rate"] for r in rows] == want["corrected_pass_rate"].to_list()
    assert res.stderr.strip() == trust_caveat(20)
    agents = CliRunner().invoke(
        cli, ["review-agreement", "--data-dir", d, "--by", "agent", "--min-reviewed", "5"]
    )
    assert agents.exit_code == 0 and "kappa" in agents.stdout
    assert "at least 5 failed and 5 passed" in agents.stderr
    table = CliRunner().invoke(cli, ["review-agreement", "--data-dir", d, "--min-reviewed", "300"])
    assert "fewer than 300" in table.stdout and "Customer Sentiment" in table.stdout


def test_csv_neutralises_formulas_in_names(planted_4k: Planted, tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(planted_4k.data_dir, d)
    with Store(d, lock=True) as store:
        store.replace_table(
            "scenarios", store.read("scenarios").with_columns(name=pl.lit("=HYPERLINK(1)"))
        )
    args = ["flaky", "--data-dir", str(d), "--by", "scenario", "--format", "csv"]
    safe, raw = CliRunner().invoke(cli, args), CliRunner().invoke(cli, [*args, "--raw"])
    assert ",'=HYPERLINK(1)," in safe.stdout and ",=HYPERLINK(1)," not in safe.stdout
    assert ",=HYPERLINK(1)," in raw.stdout


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["flaky", "--by", "persona"], 2, "Invalid value for '--by'"),
        (["flaky", "--metric", "Nope"], 1, "error: metric 'Nope' has no scenario run twice"),
        (["flaky", "--since", "yesterday"], 2, "error: --since 'yesterday'"),
        (["review-agreement", "--min-reviewed", "0"], 2, "error: --min-reviewed 0"),
        (["review-agreement", "--by", "scenario"], 2, "Invalid value for '--by'"),
    ],
)
def test_bad_input_is_one_line(planted_4k: Planted, args: list[str], code: int, words: str) -> None:
    res = CliRunner().invoke(cli, [*args[:1], "--data-dir", str(planted_4k.data_dir), *args[1:]])
    assert res.exit_code == code
    assert words in res.output and "Traceback" not in res.output
    if code == 1 or "error:" in words:
        assert len([ln for ln in res.output.splitlines() if ln.strip()]) == 1


def test_missing_data_dir(tmp_path: Path) -> None:
    for command in ("flaky", "review-agreement"):
        res = CliRunner().invoke(cli, [command, "--data-dir", str(tmp_path / "none")])
        assert res.exit_code == 1 and res.output.startswith("error: data dir")
