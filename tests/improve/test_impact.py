"""``improve impact`` on crafted data: each verdict where it belongs, Holm over the family."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from gate_data import version_start, write_jobs, write_versions

from cekura_analytics.analysis.stats import holm
from cekura_analytics.cli import cli
from cekura_analytics.improve.impact import (
    IMPROVED,
    NO_EVIDENCE,
    NOT_SHIPPED,
    WORSE,
    improve_impact,
)
from cekura_analytics.warehouse.connection import query

#: v1 -> v2 fixes Booked (50 % -> 95 %), leaves Tone alone; v2 -> v3 breaks Empathy
COUNTS = {
    ("v1", "Booked"): (100, 50),
    ("v1", "Tone"): (100, 90),
    ("v2", "Booked"): (100, 95),
    ("v2", "Tone"): (100, 91),
    ("v2", "Empathy"): (100, 95),
    ("v3", "Empathy"): (100, 60),
    ("v3", "Clarity"): (100, 80),
}


def failed_run(d: Path, version: str, metric: str) -> int:
    """A run of ``version`` that failed ``metric``."""
    return int(
        query(
            d,
            "select min(run_id) from metric_results where agent_version = $v"
            " and metric_name = $m and not passed",
            {"v": version, "m": metric},
        ).item()
    )


@pytest.fixture
def impact_dir(tmp_path: Path) -> Path:
    d = write_versions(tmp_path / "d", COUNTS)
    half = timedelta(minutes=30)
    jobs = [
        ("fix-booking", "v1", "Booked", version_start(0) + half, {}),
        ("tone", "v1", "Tone", version_start(0) + half, {}),
        ("empathy", "v2", "Empathy", version_start(1) + half, {}),
        ("clarity", "v3", "Clarity", version_start(2) + half, {}),
        # neither counts: a failed job suggested nothing; instructions change scenarios
        ("failed", "v1", "Booked", version_start(0) + half, {"status": "failed"}),
        ("instr", "v1", "Booked", version_start(0) + half, {"kind": "instructions"}),
    ]
    write_jobs(d, [
        {"job_id": j, "run_id": failed_run(d, v, m), "agent_id": 1, "finished_at": t, **extra}
        for j, v, m, t, extra in jobs
    ])  # fmt: skip
    return d


def test_verdicts_on_crafted_history(impact_dir: Path) -> None:
    df = improve_impact(impact_dir)
    got = {r["job_id"]: r for r in df.iter_rows(named=True)}
    assert set(got) == {"fix-booking", "tone", "empathy", "clarity"}
    assert {j: (r["metric_name"], r["verdict"]) for j, r in got.items()} == {
        "fix-booking": ("Booked", IMPROVED),
        "tone": ("Tone", NO_EVIDENCE),
        "empathy": ("Empathy", WORSE),
        "clarity": ("Clarity", NOT_SHIPPED),
    }
    fix = got["fix-booking"]
    assert (fix["before_version"], fix["after_version"]) == ("v1", "v2")
    assert (fix["n_before"], fix["n_passed_before"], fix["n_after"]) == (100, 50, 100)
    assert fix["change"] == pytest.approx(0.45)
    assert fix["ci_low_after"] < 0.95 < fix["ci_high_after"]
    # Holm runs over the family of the three shipped pairs, once per direction
    shipped = df.filter(pl.col("after_version").is_not_null())
    assert shipped.height == 3
    for side in ("better", "worse"):
        raw = shipped[f"p_{side}"].to_list()
        assert shipped[f"p_holm_{side}"].to_list() == pytest.approx(holm(raw))
    assert got["clarity"]["after_version"] is None and got["clarity"]["test"] is None


def test_a_job_after_the_last_version_is_not_yet_shipped(impact_dir: Path) -> None:
    # the same booking job, finished after v2 appeared: its "after" is v3, which has no Booked
    later = version_start(1) + timedelta(minutes=30)
    write_jobs(impact_dir, [{"job_id": "fix-booking", "run_id": failed_run(impact_dir, "v1",
               "Booked"), "agent_id": 1, "finished_at": later}])  # fmt: skip
    row = improve_impact(impact_dir).filter(job_id="fix-booking").row(0, named=True)
    assert row["after_version"] == "v3" and row["n_after"] == 0
    assert row["verdict"] == NO_EVIDENCE


def test_small_samples_give_no_evidence(impact_dir: Path) -> None:
    verdicts = improve_impact(impact_dir, min_n=500)["verdict"].to_list()
    assert sorted(set(verdicts)) == [NO_EVIDENCE, NOT_SHIPPED]


def test_view_exists_and_cli_prints_it(impact_dir: Path) -> None:
    assert query(impact_dir, "select count(*) from improve_impact").item() == 4
    out = CliRunner().invoke(cli, ["improve", "impact", "--data-dir", str(impact_dir),
                                   "--format", "csv"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0].startswith("job_id,run_id,agent_id,metric_id")
    assert "improved" in out.output and "not yet shipped" in out.output
