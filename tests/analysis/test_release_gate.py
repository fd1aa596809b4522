"""The release gate on crafted data: exact regressions, Holm, small n, exit codes, JUnit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from gate_data import METRIC_IDS, REGRESSION, write_versions

from cekura_analytics.analysis.release_gate import FAIL, INSUFFICIENT, PASS, gate
from cekura_analytics.cli import cli
from cekura_analytics.errors import ConfigError, DataError

#: Empathy falls 95 % -> 70 % (a true regression); the others move by noise only


def run_gate(*args: str) -> Any:
    return CliRunner().invoke(cli, ["gate", *args])


def test_known_regression_exits_1_and_fails_exactly_that_metric(tmp_path: Path) -> None:
    d = write_versions(tmp_path / "d", REGRESSION)
    junit, md = tmp_path / "gate.xml", tmp_path / "gate.md"
    out = run_gate("--data-dir", str(d), "--agent-id", "1", "--junit", str(junit),
                   "--markdown", str(md))  # fmt: skip
    assert out.exit_code == 1, out.output
    result = gate(d, 1)
    assert (result.baseline, result.candidate) == ("v1", "v2")
    assert [c.metric_name for c in result.failures] == ["Empathy"]
    assert {c.metric_name: c.status for c in result.cells} == {
        "Empathy": FAIL, "Clarity": PASS, "Latency": PASS,
    }  # fmt: skip
    empathy = result.failures[0]
    assert empathy.drop == pytest.approx(0.25)
    assert empathy.cmp.n_baseline == empathy.cmp.n_candidate == 100
    assert empathy.cmp.ci_low_candidate < 0.70 < empathy.cmp.ci_high_candidate
    assert empathy.cmp.test == "z test" and empathy.p_holm < 0.05
    assert "FAIL" in out.output and "Empathy" in out.output
    # the Markdown comment lists the failing cell first
    table = [ln for ln in md.read_text().splitlines() if ln.startswith("| ")]
    assert table[1].startswith("| fail | Empathy |")


def test_version_against_itself_passes(tmp_path: Path) -> None:
    d = write_versions(tmp_path / "d", REGRESSION)
    out = run_gate("--data-dir", str(d), "--agent-id", "1", "--baseline", "v2",
                   "--candidate", "v2")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert all(c.drop == 0 and c.status == PASS for c in gate(d, 1, baseline="v2").cells)


def test_small_n_is_insufficient_and_fails_only_when_strict(tmp_path: Path) -> None:
    # 10/10 -> 2/10 would be a huge drop, but 10 results are below --min-n 30
    d = write_versions(tmp_path / "d", {("v1", "Empathy"): (10, 10), ("v2", "Empathy"): (10, 2)})
    out = run_gate("--data-dir", str(d), "--agent-id", "1")
    assert out.exit_code == 0, out.output
    assert [c.status for c in gate(d, 1).cells] == [INSUFFICIENT]
    assert "INSUFFICIENT" in out.output
    strict = run_gate("--data-dir", str(d), "--agent-id", "1", "--strict")
    assert strict.exit_code == 1, strict.output
    # with --min-n 5 the same cell is tested (Fisher exact: counts are small) and fails
    small = gate(d, 1, min_n=5)
    assert small.cells[0].status == FAIL and small.cells[0].cmp.test == "fisher exact"


def test_holm_turns_a_lone_borderline_drop_into_a_pass_among_ten_metrics(tmp_path: Path) -> None:
    # 90/100 -> 80/100: one-sided z p = 0.0238 < 0.05, a 10-point drop
    borderline = {("v1", "Empathy"): (100, 90), ("v2", "Empathy"): (100, 80)}
    alone = gate(write_versions(tmp_path / "alone", borderline), 1)
    assert alone.cells[0].status == FAIL
    assert alone.cells[0].p_holm == pytest.approx(0.0238, abs=1e-4)
    # the same cell among ten tested metrics: Holm multiplies its p by 10 -> 0.238, a pass
    others = [m for m in METRIC_IDS if m != "Empathy"]
    crowd = dict(borderline)
    crowd |= {(v, m): (100, 90) for v in ("v1", "v2") for m in others}
    many = gate(write_versions(tmp_path / "many", crowd), 1)
    assert len(many.cells) == 10 and many.passed
    empathy = next(c for c in many.cells if c.metric_name == "Empathy")
    assert empathy.cmp.p_worse == pytest.approx(alone.cells[0].cmp.p_worse)
    assert empathy.p_holm == pytest.approx(10 * empathy.cmp.p_worse)
    assert empathy.status == PASS


def test_significant_but_small_drop_passes(tmp_path: Path) -> None:
    # 99 % -> 96 % over 2000 results each is significant, but a drop of 3 < 5 points
    d = write_versions(tmp_path / "d", {("v1", "Tone"): (2000, 1980), ("v2", "Tone"): (2000, 1920)})
    cell = gate(d, 1).cells[0]
    assert cell.p_holm < 0.001 and cell.status == PASS
    assert gate(d, 1, max_drop=0.02).cells[0].status == FAIL


def test_by_language_finds_the_cell_that_regressed(tmp_path: Path) -> None:
    counts = {
        ("v1", "Empathy", 1): (100, 95),
        ("v1", "Empathy", 2): (100, 95),
        ("v2", "Empathy", 1): (100, 95),
        ("v2", "Empathy", 2): (100, 60),
    }
    d = write_versions(tmp_path / "d", counts)
    result = gate(d, 1, by="metric,language")
    assert [(c.name, c.status) for c in result.worst_first()] == [
        ("Empathy [language: es]", FAIL), ("Empathy [language: en]", PASS),
    ]  # fmt: skip
    by_person = gate(d, 1, by="metric, personality")
    assert [c.dimension_value for c in by_person.failures] == ["Angry"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--agent-id", "9"], "no data: agent 9"),
        (["--agent-id", "1", "--candidate", "v7"], "no results for version 'v7'"),
        (["--agent-id", "1", "--max-drop", "2"], "--max-drop"),
        (["--agent-id", "1", "--alpha", "0"], "--alpha"),
        (["--agent-id", "1", "--baseline", "v1", "--candidate", "previous"], "previous"),
    ],
    ids=["unknown-agent", "unknown-version", "bad-drop", "bad-alpha", "candidate-previous"],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], words: str) -> None:
    d = write_versions(tmp_path / "d", REGRESSION)
    out = run_gate("--data-dir", str(d), *args)
    assert out.exit_code == 2, out.output
    lines = [ln for ln in out.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0]


def test_first_version_has_no_previous(tmp_path: Path) -> None:
    d = write_versions(tmp_path / "d", {("v1", "Empathy"): (40, 40)})
    with pytest.raises(DataError, match="first: give --baseline"):
        gate(d, 1)
    with pytest.raises(ConfigError, match="--by"):
        gate(d, 1, by="day")
