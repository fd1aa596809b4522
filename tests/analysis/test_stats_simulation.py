"""Simulations of issue 17's statistics: seeded, a few seconds each; run with ``-s`` to see
the figures (coverage, false alarms, power) that the closing note quotes.

Every suite is drawn the way Cekura tests are run: 10-50 scenarios, each run 3-20 times, the
scenarios' pass rates drawn from a Beta distribution with mean 0.5-0.9. numpy only draws the
suites; every interval, test and verdict comes from ``cekura_analytics.analysis.stats``.

The estimand of the clustered interval is the population mean of the Beta (the pass rate the
agent would have on more scenarios like these). For the run-weighted mean of the very
scenarios drawn, only the runs are random, so plain Wilson already covers it (printed too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from cekura_analytics.analysis import stats

SUITES = 2000
ALPHA = 0.05
#: the gate's default: a cell fails when worse and its drop exceeds 5 points
MAX_DROP = 0.05


@dataclass(frozen=True)
class Suite:
    """True scenario rates, runs and passes of one simulated suite."""

    mean: float
    rates: np.ndarray
    runs: np.ndarray
    passes: np.ndarray

    def counts(self) -> list[tuple[int, int]]:
        return list(zip(self.passes.tolist(), self.runs.tolist(), strict=True))


def draw_rates(rng: np.random.Generator, spread: tuple[float, float]) -> tuple[float, np.ndarray]:
    """A suite's scenario rates: Beta with mean U(0.5, 0.9) and concentration U(*spread)."""
    mean = rng.uniform(0.5, 0.9)
    concentration = rng.uniform(*spread)
    n_scenarios = int(rng.integers(10, 51))
    return mean, rng.beta(mean * concentration, (1 - mean) * concentration, size=n_scenarios)


def draw_suite(rng: np.random.Generator, spread: tuple[float, float]) -> Suite:
    mean, rates = draw_rates(rng, spread)
    runs = rng.integers(3, 21, size=rates.size)
    return Suite(mean, rates, runs, rng.binomial(runs, rates))


def covers(low: float | None, high: float | None, truth: float) -> bool:
    assert low is not None and high is not None
    return low <= truth <= high


# -- intervals that know about repeats ------------------------------------------------------


@pytest.mark.parametrize(
    "spread",
    # Beta concentration a + b: 0.5-3 puts most scenarios near 0 or 1 (pass or fail almost
    # always), 5-20 spreads them mildly around the mean
    [(0.5, 3.0), (1.0, 5.0), (5.0, 20.0)],
    ids=["strongly-clustered", "clustered", "mildly-clustered"],
)
def test_clustered_interval_covers_the_true_rate(spread: tuple[float, float]) -> None:
    rng = np.random.default_rng(17)
    hits = {"clustered": 0, "clustered with 1.96": 0, "plain Wilson": 0}
    conditional = {"clustered": 0, "plain Wilson": 0}
    design_effects = []
    for _ in range(SUITES):
        s = draw_suite(rng, spread)
        r = stats.clustered_interval(s.counts())
        assert r.rate is not None and r.n_eff is not None and r.design_effect is not None
        design_effects.append(r.design_effect)
        wilson = stats.wilson_interval(int(s.passes.sum()), int(s.runs.sum()))
        hits["clustered"] += covers(r.ci_low, r.ci_high, s.mean)
        with_z = stats.wilson_bounds(r.rate, r.n_eff, stats.Z95)
        hits["clustered with 1.96"] += covers(*with_z, s.mean)
        hits["plain Wilson"] += covers(*wilson, s.mean)
        suite_rate = float((s.runs * s.rates).sum() / s.runs.sum())
        conditional["clustered"] += covers(r.ci_low, r.ci_high, suite_rate)
        conditional["plain Wilson"] += covers(*wilson, suite_rate)
    cov = {k: v / SUITES for k, v in hits.items()}
    cond = {k: v / SUITES for k, v in conditional.items()}
    print(
        f"\ncoverage of the population pass rate, {SUITES} suites, concentration {spread}: "
        + ", ".join(f"{k} {100 * v:.1f} %" for k, v in cov.items())
        + f"; median design effect {np.median(design_effects):.2f}"
        + "\n  of the suite's own run-weighted rate: "
        + ", ".join(f"{k} {100 * v:.1f} %" for k, v in cond.items())
    )
    assert 0.93 <= cov["clustered"] <= 0.97
    assert cov["plain Wilson"] <= cov["clustered"] - 0.10  # far lower
    assert cov["clustered with 1.96"] < cov["clustered"]  # the t quantile earns its place
    # the conditional estimand: runs are the only randomness, so both are (over-)safe
    assert min(cond.values()) >= 0.95


# -- like with like: the stratified comparison ---------------------------------------------


def mix_shifted_pair(
    rng: np.random.Generator, drop: float = 0.0, new_hard: bool = True
) -> dict[str, tuple[int, int, int, int]]:
    """Baseline and candidate of one cell: same scenarios, the candidate ``drop`` lower on
    each, and tested more on the hard ones (and, with ``new_hard``, on a few new hard
    scenarios the baseline never ran): the team that adds harder cases."""
    _, rates = draw_rates(rng, (1.0, 5.0))
    if drop:
        rates = drop + (1 - drop) * rates  # room for the drop on every scenario
    hard = rates < np.median(rates)
    runs_b = rng.integers(3, 21, size=rates.size)
    runs_c = np.where(hard, rng.integers(10, 21, size=rates.size), rng.integers(3, 7, rates.size))
    pass_b = rng.binomial(runs_b, rates)
    pass_c = rng.binomial(runs_c, rates - drop)
    strata = {
        f"s{i}": (int(pass_b[i]), int(runs_b[i]), int(pass_c[i]), int(runs_c[i]))
        for i in range(rates.size)
    }
    if new_hard:
        for j in range(int(rng.integers(1, 6))):
            n = int(rng.integers(3, 21))
            strata[f"new{j}"] = (0, 0, int(rng.binomial(n, 0.2)), n)
    return strata


def naive_worse(strata: dict[str, tuple[int, int, int, int]]) -> bool:
    """Today's gate on pooled counts: one-sided Fisher / z test of every run of each side."""
    k_b, n_b, k_c, n_c = (sum(s[i] for s in strata.values()) for i in range(4))
    cmp = stats.compare_counts(k_b, n_b, k_c, n_c, min_n=1)
    assert cmp.p_worse is not None and cmp.change is not None
    return cmp.p_worse < ALPHA and -cmp.change > 0.0


def test_scenario_mix_shift_is_not_a_regression() -> None:
    rng = np.random.default_rng(2024)
    stratified = naive = covered = 0
    naive_changes, mix_shifts, methods = [], [], {stats.CMH: 0, stats.EXACT_CONDITIONAL: 0}
    for _ in range(SUITES):
        strata = mix_shifted_pair(rng)
        r = stats.compare_stratified(strata, min_n=30)
        assert r.method is not None and r.n_scenarios_candidate_only >= 1
        methods[r.method] += 1
        (v,) = stats.verdicts([r], alpha=ALPHA, max_drop=0.0)
        stratified += v.verdict == stats.WORSE
        naive += naive_worse(strata)
        covered += covers(r.ci_low_change, r.ci_high_change, 0.0)
        naive_changes.append(r.naive_change)
        mix_shifts.append(r.mix_shift)
    print(
        f"\nfalse alarms with only the scenario mix changed ({SUITES} cells, alpha {ALPHA}): "
        f"stratified {100 * stratified / SUITES:.1f} %, today's pooled test "
        f"{100 * naive / SUITES:.1f} %; median naive change {100 * np.median(naive_changes):.1f}"
        f" pts, of which mix shift {100 * np.median(mix_shifts):.1f} pts; MH change interval "
        f"covers 0 in {100 * covered / SUITES:.1f} %; tests used {methods}"
    )
    assert stratified / SUITES <= ALPHA
    assert naive / SUITES >= 0.5
    assert 0.93 <= covered / SUITES <= 0.98


def test_small_counts_keep_the_false_alarm_rate() -> None:
    # nearly always passing scenarios run 3-5 times: few failures, so the exact test decides
    rng = np.random.default_rng(7)
    worse = exact = covered = newcombe = 0
    for _ in range(SUITES):
        rates = rng.beta(19, 1, size=int(rng.integers(10, 51)))  # mean 0.95
        runs_b, runs_c = rng.integers(3, 6, rates.size), rng.integers(3, 6, rates.size)
        pass_b, pass_c = rng.binomial(runs_b, rates), rng.binomial(runs_c, rates)
        r = stats.compare_stratified(
            {
                f"s{i}": (int(pass_b[i]), int(runs_b[i]), int(pass_c[i]), int(runs_c[i]))
                for i in range(rates.size)
            }
        )
        exact += r.method == stats.EXACT_CONDITIONAL
        newcombe += r.ci_method == stats.STRATIFIED_NEWCOMBE
        worse += stats.verdicts([r], alpha=ALPHA)[0].verdict == stats.WORSE
        covered += covers(r.ci_low_change, r.ci_high_change, 0.0)
    print(
        f"\nfalse alarms at small counts: {100 * worse / SUITES:.1f} % "
        f"(exact conditional test in {100 * exact / SUITES:.0f} % of cells); the change "
        f"interval covers 0 in {100 * covered / SUITES:.1f} % "
        f"({100 * newcombe / SUITES:.0f} % stratified Newcombe)"
    )
    assert exact / SUITES >= 0.3
    assert worse / SUITES <= ALPHA
    assert covered / SUITES >= 0.93


def test_a_real_drop_on_every_scenario_is_caught() -> None:
    rng = np.random.default_rng(15)
    caught = covered = 0
    for _ in range(SUITES):
        r = stats.compare_stratified(mix_shifted_pair(rng, drop=0.15), min_n=30)
        (v,) = stats.verdicts([r], alpha=ALPHA, max_drop=MAX_DROP)
        caught += v.fails_gate
        covered += covers(r.ci_low_change, r.ci_high_change, -0.15)
    power = caught / SUITES
    print(
        f"\npower against a 15-point drop on every scenario (with the mix shift too; gate "
        f"alpha {ALPHA}, max_drop {MAX_DROP}): {100 * power:.1f} %; the MH change interval "
        f"covers -15 pts in {100 * covered / SUITES:.1f} %"
    )
    assert power >= 0.8
    assert 0.93 <= covered / SUITES <= 0.98
