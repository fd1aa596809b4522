"""The mock's planted flakiness and human reviews, read through the HTTP API like a client."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from test_mock import KEY, NOW, V2, all_pages, assert_valid, failed_metric_names, ok

from cekura_analytics.analysis.stats import wilson_interval
from cekura_analytics.mock import MockServer
from cekura_analytics.mock import catalog as C
from cekura_analytics.mock.reviews import review_frame

N_RUNS = 4000
EVALUATED = ("completed", "timeout")
#: two-sided normal quantile for 99.5 %: 95 % family-wise over the 10 metrics (Bonferroni)
Z_FAMILY = 2.807
Cell = tuple[int, int, int | None]  # scenario id, metric id, agent version (v1: history id)


@pytest.fixture(scope="module")
def big() -> Iterator[MockServer]:
    """A 4,000-run mock (the size the issue's "at least 20 reviewed failures" is about)."""
    with MockServer(runs=N_RUNS, seed=0, api_key=KEY, now=NOW) as srv:
        yield srv


@pytest.fixture(scope="module")
def listed(big: MockServer) -> list[dict[str, Any]]:
    """Every run as the v1 list sends it."""
    count, items = all_pages(big, "runs/")
    assert count == len(items) == N_RUNS
    return items


def truth(srv: MockServer, what: str) -> Any:
    """A ``/_mock`` ground-truth answer (no key needed)."""
    r = requests.get(f"{srv.base_url}/_mock/{what}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def is_reviewed(run: dict[str, Any]) -> bool:
    return str(run["evaluation_status"]).startswith("reviewed_")


def failed_ids(run: dict[str, Any]) -> set[int]:
    """Metric ids the judge failed: one critical category each."""
    return {c["category_id"] for c in run["critical_categories"]}


# ---------------------------------------------------------------- flaky scenarios
def observed_cells(listed: list[dict[str, Any]]) -> dict[Cell, list[bool]]:
    """(scenario, metric, version) -> pass/fail of each evaluated run, oldest first."""
    cells: dict[Cell, list[bool]] = defaultdict(list)
    for run in sorted(listed, key=lambda r: r["id"]):
        if run["status"] in EVALUATED:
            failed = failed_ids(run)
            for m in run["metrics"]:
                key = (run["scenario"], m["id"], run["agent_version"])
                cells[key].append(m["id"] not in failed)
    return cells


@pytest.fixture(scope="module")
def flaky(big: MockServer, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The planted cells, each with the outcomes the API shows for it (``outcomes``)."""
    seen = observed_cells(listed)
    cells = truth(big, "flaky")["cells"]
    for cell in cells:
        cell["outcomes"] = seen.get(
            (cell["scenario_id"], cell["metric_id"], cell["agent_version_id"]), []
        )
    return list(cells)


def test_flaky_truth_matches_what_the_api_shows(flaky: list[dict[str, Any]]) -> None:
    assert len({(c["scenario_id"], c["metric_id"], c["agent_version_id"]) for c in flaky}) == len(
        flaky
    )
    for cell in flaky:
        assert (cell["n_runs"], cell["n_passed"]) == (len(cell["outcomes"]), sum(cell["outcomes"]))
        assert cell["version_name"].startswith("v") and 0.0 <= cell["pass_probability"] <= 1.0
    assert sum(c["n_runs"] for c in flaky) > 20_000  # ~6.5 metrics on most of 4,000 runs


def test_stable_cells_never_flip_and_flaky_ones_do(flaky: list[dict[str, Any]]) -> None:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cell in flaky:
        by_kind[cell["kind"]].append(cell)
    assert all(all(c["outcomes"]) for c in by_kind["stable_pass"])
    assert not any(any(c["outcomes"]) for c in by_kind["stable_fail"])
    seen_fail = [c for c in by_kind["stable_fail"] if len(c["outcomes"]) >= 2]
    assert len(seen_fail) >= 10  # always-failing cells are there to be found
    # in-between cells with enough repeats show both outcomes (P >= 1 - 0.8**8 each)
    mid = [c for c in by_kind["flaky"] if 0.2 <= c["pass_probability"] <= 0.8]
    mid = [c for c in mid if len(c["outcomes"]) >= 8]
    flipped = [c for c in mid if len(set(c["outcomes"])) == 2]
    assert len(mid) >= 40 and len(flipped) / len(mid) > 0.75
    assert sum(len(set(c["outcomes"])) == 2 for c in by_kind["flaky"]) > 500


@pytest.mark.parametrize("metric_id", [m.id for m in C.METRICS])
def test_every_metric_has_stable_and_flaky_cells(
    flaky: list[dict[str, Any]], metric_id: int
) -> None:
    kinds = {c["kind"] for c in flaky if c["metric_id"] == metric_id}
    spread = C.METRIC_BY_ID[metric_id] in C.SPREAD_METRICS
    assert (kinds == {"flaky"}) if spread else ({"flaky", "stable_pass"} <= kinds)


def test_same_pass_rate_two_different_agents(flaky: list[dict[str, Any]]) -> None:
    """Hindi x Instruction Following and Angry/Impatient x Empathy both pass about half the
    time: the first because some scenarios always fail, the second because every one flips."""
    hindi = {s.id for s in C.SCENARIOS if s.language == "hi"}
    angry = {s.id for s in C.SCENARIOS if C.PERSONALITIES[s.personality_idx].id in (202, 204)}
    groups = {
        "fix": [c for c in flaky if c["metric_id"] == 304 and c["scenario_id"] in hindi],
        "reliability": [c for c in flaky if c["metric_id"] == 306 and c["scenario_id"] in angry],
    }
    rate, flipping = {}, {}
    for name, cells in groups.items():
        outcomes = [o for c in cells for o in c["outcomes"]]
        rate[name] = sum(outcomes) / len(outcomes)
        repeated = [c for c in cells if len(c["outcomes"]) >= 3]
        flipping[name] = sum(len(set(c["outcomes"])) == 2 for c in repeated) / len(repeated)
        assert len(outcomes) > 150
    assert all(0.35 < r < 0.7 for r in rate.values()), rate
    assert flipping["reliability"] > 0.8 and flipping["fix"] < 0.4, flipping
    assert any(c["kind"] == "stable_fail" for c in groups["fix"])
    assert {c["kind"] for c in groups["reliability"]} == {"flaky"}


def test_water_filling_keeps_each_sibling_group_mean() -> None:
    """The flakiness moves pass probability between siblings, never changes their total, so
    every planted rate (language, personality, version, agent) stays where it was."""
    groups: dict[tuple[int, int, int, int], list[int]] = defaultdict(list)
    for si, sc in enumerate(C.SCENARIOS):
        for mi in sc.metric_idx:
            for vi, (ai, _) in enumerate(C.VERSIONS):
                if ai == sc.agent_idx:
                    groups[ai, sc.personality_idx, mi, vi].append(si)
    moved = 0
    for (_, _, mi, vi), members in groups.items():
        planted = [C.pass_probability(mi, si, vi) for si in members]
        before = [1 - C.fail_probability(mi, si, vi) for si in members]
        assert sum(planted) == pytest.approx(sum(before), abs=1e-6)
        assert sum(0 < p < 1 for p in planted) <= (len(members) if mi in C.SPREAD_METRICS else 1)
        moved += planted != before
    assert moved > len(groups) // 2


# ---------------------------------------------------------------- human reviews
def review_counts(listed: list[dict[str, Any]]) -> dict[int, dict[str, int]]:
    """Per metric, from the list: reviewed failures, overturns, reviewed clean runs, misses."""
    counts: dict[int, dict[str, int]] = {m.id: defaultdict(int) for m in C.METRICS}
    for run in listed:
        if not is_reviewed(run):
            continue
        for cat in run["critical_categories"]:
            counts[cat["category_id"]]["n_reviewed_failed"] += 1
            counts[cat["category_id"]]["n_overturned"] += cat["wrongly_marked"]
        if not run["critical_categories"]:
            for m in run["metrics"]:
                counts[m["id"]]["n_reviewed_passed"] += 1
                counts[m["id"]]["n_missed"] += run["evaluation_status"] == "reviewed_failure"
    return counts


def test_reviews_prefer_failures_and_cover_every_metric(
    big: MockServer, listed: list[dict[str, Any]]
) -> None:
    completed = [r for r in listed if r["status"] == "completed"]
    assert all(r["status"] == "completed" for r in listed if is_reviewed(r))
    failed = [r for r in completed if not r["success"]]
    passed = [r for r in completed if r["success"]]
    assert all(not r["critical_categories"] for r in passed) and all(failed_ids(r) for r in failed)
    n_failed, n_passed = sum(map(is_reviewed, failed)), sum(map(is_reviewed, passed))
    assert n_failed > 2 * n_passed > 0  # more failures reviewed than passes, by count
    assert n_failed / len(failed) > 3 * n_passed / len(passed)  # and by rate (~0.6 vs 0.15)
    counts = review_counts(listed)
    assert min(c["n_reviewed_failed"] for c in counts.values()) >= 20
    planted = {m["metric_id"]: m for m in truth(big, "reviews")["metrics"]}
    for metric_id, c in counts.items():
        keys = ("n_reviewed_failed", "n_overturned", "n_reviewed_passed", "n_missed")
        assert {k: c[k] for k in keys} == {k: planted[metric_id][k] for k in keys}, metric_id
    # one run at a time (rendering) and all at once (the truth) review the same runs
    assert {r["id"] for r in listed if is_reviewed(r)} == set(review_frame(big.data)["id"])


def test_overturn_rates_recover_the_planted_ones(
    big: MockServer, listed: list[dict[str, Any]]
) -> None:
    answer = truth(big, "reviews")
    planted = {m["metric_id"]: m["overturn_rate"] for m in answer["metrics"]}
    worst = answer["miscalibrated_metric_id"]
    assert planted[worst] == max(planted.values()) >= 2 * sorted(planted.values())[-2]
    observed: dict[int, float] = {}
    for metric_id, c in review_counts(listed).items():
        k, n = c["n_overturned"], c["n_reviewed_failed"]
        low, high = wilson_interval(k, n, Z_FAMILY)
        assert low is not None and high is not None
        assert low <= planted[metric_id] <= high, (metric_id, k, n)
        observed[metric_id] = k / n
        if metric_id == worst:  # clearly above every other metric's planted rate
            others = max(v for m, v in planted.items() if m != worst)
            assert low > others
    assert max(observed, key=lambda m: observed[m]) == worst
    assert len({round(v, 2) for m, v in planted.items() if m != worst}) >= 5  # rates differ


def test_missed_rate_recovers_the_planted_one(
    big: MockServer, listed: list[dict[str, Any]]
) -> None:
    clean = [r for r in listed if is_reviewed(r) and not r["critical_categories"]]
    k = sum(r["evaluation_status"] == "reviewed_failure" for r in clean)
    low, high = wilson_interval(k, len(clean))
    planted = truth(big, "reviews")["missed_rate"]
    assert k > 10 and low is not None and high is not None and low <= planted <= high
    agents = truth(big, "reviews")["agents"]
    assert sum(a["n_judge_passed_reviewer_failed"] for a in agents) == k
    assert sum(a["n_both_passed"] for a in agents) == len(clean) - k
    for a in agents:  # every cell of each agent's 2 x 2 is filled
        cells = [v for key, v in a.items() if key.startswith("n_") and key != "n_reviewed"]
        assert sum(cells) == a["n_reviewed"] and min(cells) > 0


def test_categories_carry_the_reviewers_marks(listed: list[dict[str, Any]]) -> None:
    kinds = set()
    for run in listed:
        cats = run["critical_categories"]
        for c in cats:
            assert c["wrongly_marked"] == (c["priority"] == "not_a_bug") == bool(c["feedback"])
            if not is_reviewed(run):
                assert not c["wrongly_marked"]
            kinds.add((is_reviewed(run), c["wrongly_marked"], c["priority"]))
        if is_reviewed(run) and cats:  # the reviewer passes a run only if every failure was wrong
            all_wrong = all(c["wrongly_marked"] for c in cats)
            assert run["evaluation_status"] == f"reviewed_{'success' if all_wrong else 'failure'}"
    assert kinds == {
        (False, False, "critical"), (False, False, "non-critical"),
        (True, False, "critical"), (True, False, "non-critical"), (True, True, "not_a_bug"),
    }  # fmt: skip


def test_reviewed_runs_keep_the_judge_verdict_on_their_items(
    big: MockServer, listed: list[dict[str, Any]]
) -> None:
    reviewed = [r["id"] for r in listed if is_reviewed(r)]
    clean = [r["id"] for r in listed if is_reviewed(r) and r["success"]][:100]
    others = [r["id"] for r in listed if r["status"] == "completed" and not is_reviewed(r)]
    picked = clean + [i for i in reviewed if i not in clean][:100] + others[:50]
    runs: list[dict[str, Any]] = []
    for i in range(0, len(picked), 100):
        ids = ",".join(map(str, picked[i : i + 100]))
        body = ok(big, "runs/bulk/", run_ids=ids)
        assert_valid("/test_framework/v1/runs/bulk/", body)
        assert [c["category_id"] for r in body for c in r["critical_categories"]] == [
            c["category_id"] for r in ok(big, f"{V2}/runs/bulk/", run_ids=ids)
            for c in r["critical_categories"]
        ]  # fmt: skip
        runs += body
    missed = 0
    for run in runs:
        assert run["is_reviewed"] == is_reviewed(run)
        names = failed_metric_names(run)  # the judge's verdicts, read from the metric items
        assert sorted(c["category"] for c in run["critical_categories"]) == sorted(names)
        assert run["success"] == (not names)  # the run-level flag stays the judge's
        judge_passed_reviewer_failed = not names and run["evaluation_status"] == "reviewed_failure"
        assert bool(run["feedback"]) == judge_passed_reviewer_failed
        missed += judge_passed_reviewer_failed
    assert sum(r["is_reviewed"] for r in runs) == 200 and missed > 0
