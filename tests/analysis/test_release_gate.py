"""The release gate on crafted data: exact regressions, Holm, small n, exit codes, JUnit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from gate_data import METRIC_IDS, REGRESSION, write_versions

from cekura_analytics.analysis.release_gate import FAIL, INSUFFICIENT, PASS, gate, status
from cekura_analytics.analysis.stats import two_proportion_test
from cekura_analytics.analysis.versions import compare_versions
from cekura_analytics.cli import cli
from cekura_analytics.errors import ConfigError, DataError
from cekura_analytics.present.markdown import gate_markdown
from cekura_analytics.present.text import gate_text

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
    assert {c.metric_name: status(c) for c in result.cells} == {
        "Empathy": FAIL, "Clarity": PASS, "Latency": PASS,
    }  # fmt: skip
    empathy = result.failures[0]
    assert empathy.drop == pytest.approx(0.25)
    assert empathy.cmp.n_baseline == empathy.cmp.n_candidate == 100
    assert empathy.cmp.ci_low_candidate < 0.70 < empathy.cmp.ci_high_candidate
    assert empathy.cmp.method == "CMH" and empathy.verdict.p_holm_worse < 0.05
    assert "FAIL" in out.output and "Empathy" in out.output
    # the Markdown comment lists the failing cell first
    table = [ln for ln in md.read_text().splitlines() if ln.startswith("| ")]
    assert table[1].startswith("| fail | Empathy |")


def test_version_against_itself_passes(tmp_path: Path) -> None:
    d = write_versions(tmp_path / "d", REGRESSION)
    out = run_gate("--data-dir", str(d), "--agent-id", "1", "--baseline", "v2",
                   "--candidate", "v2")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert all(c.drop == 0 and status(c) == PASS for c in gate(d, 1, baseline="v2").cells)


def test_small_n_is_insufficient_and_fails_only_when_strict(tmp_path: Path) -> None:
    # 10/10 -> 2/10 would be a huge drop, but 10 results are below --min-n 30
    d = write_versions(tmp_path / "d", {("v1", "Empathy"): (10, 10), ("v2", "Empathy"): (10, 2)})
    out = run_gate("--data-dir", str(d), "--agent-id", "1")
    assert out.exit_code == 0, out.output
    assert [status(c) for c in gate(d, 1).cells] == [INSUFFICIENT]
    assert "INSUFFICIENT" in out.output
    strict = run_gate("--data-dir", str(d), "--agent-id", "1", "--strict")
    assert strict.exit_code == 1, strict.output
    # with --min-n 5 the same cell is tested (exact: counts are small) and fails
    small = gate(d, 1, min_n=5)
    assert status(small.cells[0]) == FAIL and small.cells[0].cmp.method == "exact conditional"


def test_holm_turns_a_lone_borderline_drop_into_a_pass_among_ten_metrics(tmp_path: Path) -> None:
    # 90/100 -> 80/100: one-sided CMH p (continuity-corrected, one scenario) < 0.05, 10 points
    borderline = {("v1", "Empathy"): (100, 90), ("v2", "Empathy"): (100, 80)}
    alone = gate(write_versions(tmp_path / "alone", borderline), 1)
    assert status(alone.cells[0]) == FAIL
    assert alone.cells[0].verdict.p_holm_worse == pytest.approx(alone.cells[0].cmp.p_worse)
    assert 0.02 < alone.cells[0].cmp.p_worse < 0.05
    # the same cell among ten tested metrics: Holm multiplies its p by 10, a pass
    others = [m for m in METRIC_IDS if m != "Empathy"]
    crowd = dict(borderline)
    crowd |= {(v, m): (100, 90) for v in ("v1", "v2") for m in others}
    many = gate(write_versions(tmp_path / "many", crowd), 1)
    assert len(many.cells) == 10 and many.passed
    empathy = next(c for c in many.cells if c.metric_name == "Empathy")
    assert empathy.cmp.p_worse == pytest.approx(alone.cells[0].cmp.p_worse)
    assert empathy.verdict.p_holm_worse == pytest.approx(10 * empathy.cmp.p_worse)
    assert status(empathy) == PASS


def test_significant_but_small_drop_passes(tmp_path: Path) -> None:
    # 99 % -> 96 % over 2000 results each is significant, but a drop of 3 < 5 points
    d = write_versions(tmp_path / "d", {("v1", "Tone"): (2000, 1980), ("v2", "Tone"): (2000, 1920)})
    cell = gate(d, 1).cells[0]
    assert cell.verdict.p_holm_worse < 0.001 and status(cell) == PASS
    assert status(gate(d, 1, max_drop=0.02).cells[0]) == FAIL


def test_by_language_finds_the_cell_that_regressed(tmp_path: Path) -> None:
    counts = {
        ("v1", "Empathy", 1): (100, 95),
        ("v1", "Empathy", 2): (100, 95),
        ("v2", "Empathy", 1): (100, 95),
        ("v2", "Empathy", 2): (100, 60),
    }
    d = write_versions(tmp_path / "d", counts)
    result = gate(d, 1, by="metric,language")
    assert [(c.name, status(c)) for c in result.worst_first()] == [
        ("Empathy [language: es]", FAIL), ("Empathy [language: en]", PASS),
    ]  # fmt: skip
    by_person = gate(d, 1, by="metric, personality")
    assert [c.dimension_value for c in by_person.failures] == ["Angry"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--agent-id", "9"], "--agent-id 9: this data dir holds no agent 9; its agents: 1"),
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


#: the issue's example: every scenario passes at the same rate on both versions (easy 90 %,
#: hard 50 %), but v2 ran the hard one more: pooled 76.7 % -> 63.3 %, a Simpson's paradox
MIX_SHIFT = {
    ("v1", "Empathy", 1): (100, 90),
    ("v1", "Empathy", 2): (50, 25),
    ("v2", "Empathy", 1): (50, 45),
    ("v2", "Empathy", 2): (100, 50),
}


def test_a_change_of_scenario_mix_alone_is_no_regression(tmp_path: Path) -> None:
    d = write_versions(tmp_path / "d", MIX_SHIFT)
    out = run_gate("--data-dir", str(d), "--agent-id", "1")
    assert out.exit_code == 0, out.output
    (cell,) = gate(d, 1).cells
    assert cell.cmp.rate_baseline == pytest.approx(115 / 150)
    assert cell.cmp.rate_candidate == pytest.approx(95 / 150)
    assert cell.cmp.naive_change == pytest.approx(-20 / 150)  # what the pooled test saw
    assert cell.cmp.change == pytest.approx(0.0) and cell.cmp.mix_shift == pytest.approx(-20 / 150)
    assert cell.verdict.verdict == "no difference" and status(cell) == PASS
    cmp = compare_versions(d, agent_id=1)
    assert cmp["verdict"].to_list() == ["no difference"]
    # the pooled two-proportion test on the same counts would have failed the release
    z, p = two_proportion_test(115, 150, 95, 150)
    assert p < 0.05 and z < 0


def test_a_real_drop_on_every_scenario_is_caught_with_the_mix_shifted(tmp_path: Path) -> None:
    drop = {
        ("v1", "Empathy", 1): (100, 90),
        ("v1", "Empathy", 2): (50, 25),
        ("v2", "Empathy", 1): (50, 37),  # 90 % -> 75 %
        ("v2", "Empathy", 2): (100, 35),  # 50 % -> 35 %
    }
    result = gate(write_versions(tmp_path / "d", drop), 1)
    (cell,) = result.cells
    assert cell.verdict.verdict == "worse" and status(cell) == FAIL and not result.passed
    assert cell.cmp.change == pytest.approx(-0.15, abs=0.01)
    assert cell.cmp.ci_low_change < -0.15 < cell.cmp.ci_high_change


def test_scenarios_run_on_one_side_are_counted_and_named(tmp_path: Path) -> None:
    counts = dict(MIX_SHIFT) | {("v2", "Empathy", 3): (40, 0)}  # a new, impossible scenario
    (cell,) = gate(write_versions(tmp_path / "d", counts), 1).cells
    assert cell.cmp.n_scenarios_both == 2 and cell.cmp.n_scenarios_candidate_only == 1
    assert cell.cmp.scenarios_candidate_only == ("scenario 3",)
    assert cell.verdict.verdict == "no difference"  # compared on the common scenarios only
    no_common = {("v1", "Empathy", 1): (100, 90), ("v2", "Empathy", 2): (100, 50)}
    (alone,) = gate(write_versions(tmp_path / "e", no_common), 1).cells
    assert status(alone) == INSUFFICIENT and "no scenario ran on both" in alone.verdict.reason
    strict = gate(write_versions(tmp_path / "e", no_common), 1, strict=True)
    assert not strict.passed


def test_a_drop_mostly_in_flaky_scenarios_is_marked(tmp_path: Path) -> None:
    """Scenario 1 flips (90 % -> 60 % over repeats), scenario 2 never fails: the drop lives
    in the flaky one, and the gate says to rerun it before blocking."""
    counts = {
        ("v1", "Empathy", 1): (100, 90),
        ("v1", "Empathy", 2): (100, 100),
        ("v2", "Empathy", 1): (100, 60),
        ("v2", "Empathy", 2): (100, 100),
    }
    result = gate(write_versions(tmp_path / "d", counts), 1)
    (cell,) = result.cells
    assert status(cell) == FAIL and cell.flaky_share == pytest.approx(1.0) and cell.mostly_flaky
    assert "flaky scenarios: rerun" in gate_text(result)
    assert "mostly flaky" in gate_markdown(result)
    stable = {("v1", "Empathy", 1): (100, 100), ("v2", "Empathy", 1): (100, 0)}
    (solid,) = gate(write_versions(tmp_path / "e", stable), 1).cells
    assert solid.flaky_share == 0.0 and not solid.mostly_flaky
