"""The mock's history holds the case ``improve impact`` is for: jobs, then a better version."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cekura_analytics import extract
from cekura_analytics.improve import ledger as lg
from cekura_analytics.improve.impact import IMPROVED, improve_impact
from cekura_analytics.mock import MockServer
from cekura_analytics.mock.history import (
    MESSAGE,
    planted_fixes,
    record_improve_history,
    version_label,
)


def test_planted_fix_is_read_from_the_catalogue() -> None:
    assert planted_fixes() == [(101, 4519, 4588, 301, "Appointment Booked")]


def test_jobs_before_the_fixing_version_are_judged_improved(tmp_path: Path) -> None:
    d = tmp_path / "d"
    with MockServer(runs=600, seed=0, api_key="k") as srv:
        extract(d, base_url=srv.base_url, api_key="k", quiet=True)
    ids = record_improve_history(d)
    assert len(ids) == 3
    assert record_improve_history(d) == ids  # rerunning adds nothing
    jobs = lg.read_ledger(d)
    assert jobs.height == 3 and set(jobs["message"]) == {MESSAGE}
    assert set(jobs["status"]) == {lg.COMPLETED}
    booked = improve_impact(d).filter(pl.col("metric_id") == 301)
    assert booked.height == 3
    before, after = version_label(d, 4519), version_label(d, 4588)
    assert before is not None and after is not None
    assert set(booked["before_version"]) == {before} and set(booked["after_version"]) == {after}
    assert set(booked["verdict"]) == {IMPROVED}
    # three jobs on the same pair of versions share one test (and one Holm-adjusted p)
    assert booked["p_holm_better"].n_unique() == 1
    assert (booked["pass_rate_after"] > booked["pass_rate_before"] + 0.2).all()
    # each job finished before the fixing version's first result
    assert (booked["finished_at"] < booked["after_first_seen_at"]).all()
