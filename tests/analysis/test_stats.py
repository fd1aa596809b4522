"""The gate's statistics against values checkable by hand (exact fractions, textbook tables)."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from statistics import NormalDist

import duckdb
import pytest

from cekura_analytics.analysis import stats
from cekura_analytics.analysis.stats import two_proportion_test, wilson_interval
from cekura_analytics.warehouse.connection import sql_dir


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "expected"),
    [
        # Fisher's tea-tasting table (3 of 4 vs 1 of 4): P(X<=1) = (1 + 16) / C(8, 4) = 17/70;
        # R: fisher.test(matrix(c(3, 1, 1, 3), 2), alternative = "greater")$p.value = 0.2429
        (3, 4, 1, 4, 17 / 70),
        # 10/10 vs 5/10: only x = 5 is as extreme: C(15, 5) * C(5, 5) / C(20, 10)
        (10, 10, 5, 10, 3003 / 184756),
        # the candidate is not worse (5/10 vs 10/10): every table is as extreme
        (5, 10, 10, 10, 1.0),
        # no failure anywhere: nothing to test
        (20, 20, 20, 20, 1.0),
        # 2/2 vs 0/2: C(2, 0) * C(2, 2) / C(4, 2) = 1/6
        (2, 2, 0, 2, 1 / 6),
    ],
)
def test_fisher_less_matches_exact_fractions(
    k1: int, n1: int, k2: int, n2: int, expected: float
) -> None:
    assert stats.fisher_less(k1, n1, k2, n2) == pytest.approx(expected, rel=1e-9)


def test_fisher_less_sums_the_long_tail_as_a_complement() -> None:
    # 95 of 100 vs 80 of 100: the upper tail is shorter, so the code takes 1 - upper
    direct = sum(math.comb(175, x) * math.comb(25, 100 - x) for x in range(75, 81)) / math.comb(
        200, 100
    )
    assert stats.fisher_less(95, 100, 80, 100) == pytest.approx(direct, rel=1e-9)


def test_z_less_matches_hand_computation() -> None:
    # 90/100 vs 80/100: pooled 0.85, se = sqrt(0.85 * 0.15 * 0.02) = 0.0504975,
    # z = -0.1 / se = -1.98030; normal table Φ(-1.98) = 0.02385, Φ(-1.99) = 0.02330, so
    # Φ(-1.98030) ≈ 0.02385 - 0.03 * 0.00055 = 0.023834
    z, p = stats.z_less(90, 100, 80, 100)
    assert z == pytest.approx(-1.98030, abs=1e-5)
    assert p == pytest.approx(0.023834, abs=3e-6)
    # the other direction is the complement
    assert stats.z_less(80, 100, 90, 100)[1] == pytest.approx(1 - p, abs=1e-12)


@pytest.mark.parametrize(
    ("counts", "method"),
    [
        ((95, 100, 90, 100), stats.Z_TEST),  # expected failures 7.5 per side
        ((98, 100, 97, 100), stats.EXACT),  # expected failures 2.5 per side
        ((3, 4, 1, 4), stats.EXACT),
        ((0, 0, 5, 10), stats.EXACT),
    ],
)
def test_less_test_picks_exact_for_small_expected_counts(
    counts: tuple[int, int, int, int], method: str
) -> None:
    assert stats.less_test(*counts)[0] == method


def test_holm_textbook_example() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_handles_empty() -> None:
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == []
    assert stats.holm([0.01]) == [0.01]


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.fisher_less(5, 4, 1, 4)


def test_compare_counts_tests_both_directions_and_skips_small_samples() -> None:
    cmp = stats.compare_counts(90, 100, 80, 100, min_n=30)
    assert cmp.change == pytest.approx(-0.10) and cmp.test == stats.Z_TEST
    assert cmp.p_worse == pytest.approx(stats.z_less(90, 100, 80, 100)[1])
    assert cmp.p_better == pytest.approx(1 - cmp.p_worse)
    assert cmp.ci_low_baseline < 0.9 < cmp.ci_high_baseline
    small = stats.compare_counts(9, 10, 2, 10, min_n=30)
    assert small.test is small.p_worse is small.p_better is None
    assert small.rate_candidate == pytest.approx(0.2)


# -- Wilson -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),  # the rule of three's better-behaved cousin
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),  # Newcombe (1998), example of the Wilson interval
        (1, 1, 0.2065, 1.0),
        (0, 1, 0.0, 0.7935),
    ],
)
def test_wilson_known_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-5) and hi == pytest.approx(high, abs=5e-5)


def test_wilson_empty() -> None:
    assert wilson_interval(0, 0) == (None, None)


def test_sql_wilson_equals_python() -> None:
    con = duckdb.connect()
    con.execute((sql_dir() / "setup" / "00_macros.sql").read_text())
    pairs = [(k, n) for n in (0, 1, 2, 3, 10, 57, 1000) for k in range(0, n + 1, max(1, n // 7))]
    for k, n in pairs:
        got = con.execute("select wilson_low(?, ?), wilson_high(?, ?), pass_rate(?, ?)",
                          [k, n, k, n, k, n]).fetchone()  # fmt: skip
        lo, hi = wilson_interval(k, n)
        assert got is not None
        assert got[0] == (None if lo is None else pytest.approx(lo, abs=1e-12)), (k, n)
        assert got[1] == (None if hi is None else pytest.approx(hi, abs=1e-12)), (k, n)
        assert got[2] == (None if n == 0 else pytest.approx(k / n)), (k, n)


# -- two-proportion test ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2"), [(50, 100, 65, 100), (30, 40, 10, 40), (3, 7, 4, 9), (1, 500, 9, 450)]
)
def test_two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> None:
    z, p = two_proportion_test(k1, n1, k2, n2)
    pooled = (k1 + k2) / (n1 + n2)
    want_z = (k2 / n2 - k1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert z == pytest.approx(want_z)
    assert p == pytest.approx(2 * (1 - NormalDist().cdf(abs(want_z))), abs=1e-12)


def test_two_proportion_known_value_and_edges() -> None:
    z, p = two_proportion_test(50, 100, 65, 100)
    assert z == pytest.approx(2.1456, abs=1e-4) and p == pytest.approx(0.0319, abs=1e-4)
    assert two_proportion_test(10, 10, 5, 5) == (0.0, 1.0)
    assert two_proportion_test(0, 0, 5, 5) == (None, None)


# -- Student's t quantile -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "known"),
    # printed t tables (e.g. Abramowitz & Stegun table 26.10) at 0.975, to their 4-5 decimals
    [(1, 12.7062), (2, 4.3027), (3, 3.1824), (5, 2.5706), (10, 2.2281), (20, 2.0860),
     (30, 2.0423), (31, 2.0395), (60, 2.0003), (120, 1.9799)],
)  # fmt: skip
def test_t_quantile_known_values(df: int, known: float) -> None:
    assert stats.t_quantile_975(df) == pytest.approx(known, abs=5e-5)


def test_t_quantile_closed_forms_and_limit() -> None:
    # df = 1 is the Cauchy: tan(π·(0.975 - 1/2)); df = 2: t = q·sqrt(2 / (1 - q²)) with q = 0.95
    assert stats.t_quantile_975(1) == pytest.approx(math.tan(0.475 * math.pi), abs=1e-12)
    assert stats.t_quantile_975(2) == pytest.approx(0.95 * math.sqrt(2 / (1 - 0.95**2)), abs=1e-12)
    # decreasing towards the normal quantile
    values = [stats.t_quantile_975(df) for df in range(1, 400)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert stats.t_quantile_975(10**9) == pytest.approx(NormalDist().inv_cdf(0.975), abs=1e-8)


def test_t_quantile_matches_scipy_everywhere() -> None:
    t = pytest.importorskip("scipy.stats").t
    worst = max(abs(stats.t_quantile_975(df) - t.ppf(0.975, df)) for df in range(1, 1001))
    assert worst < 1e-7  # the issue asks for 1e-4


@pytest.mark.parametrize("df", [0, -1, 2.5])
def test_t_quantile_refuses_bad_df(df: float) -> None:
    with pytest.raises(ValueError, match="integer >= 1"):
        stats.t_quantile_975(df)  # type: ignore[arg-type]


def _macros() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(stats.sql_macros())
    return con


def test_sql_t975_equals_python() -> None:
    con = _macros()
    got = con.execute("select df, t975(df) from range(0, 201) t(df) order by df").fetchall()
    assert got[0] == (0, None)
    for df, value in got[1:]:
        assert value == pytest.approx(stats.t_quantile_975(df), rel=1e-14), df


# -- the scenario-clustered interval ------------------------------------------------------


def test_clustered_interval_hand_computed() -> None:
    # 4 scenarios of 4 runs passing 1, 3, 4, 0: N = 16, p = 1/2, C = 4;
    # Σ(k - p·n)² = 1 + 1 + 4 + 4 = 10; V = 4/3 · 10/256 = 0.0520833; p(1-p)/N = 0.015625;
    # design effect = V / 0.015625 = 3.3333; n_eff = 4.8; t(0.975, 3) = 3.182446;
    # u = t²/n_eff = 2.109993; half = sqrt(u/4 + u²/4) = 1.280824;
    # low = (0.5 + u/2 - half) / (1 + u) = 0.088158, high = 1 - low (symmetric at p = 1/2)
    r = stats.clustered_interval([(1, 4), (3, 4), (4, 4), (0, 4)])
    assert (r.n, r.n_passed, r.n_scenarios) == (16, 8, 4)
    assert r.design_effect == pytest.approx(10 / 3) and r.n_eff == pytest.approx(4.8)
    assert r.ci_low == pytest.approx(0.088158, abs=1e-6)
    assert r.ci_high == pytest.approx(0.911842, abs=1e-6)
    # plain Wilson on 8/16 is far narrower
    assert wilson_interval(8, 16)[0] > 0.27


@pytest.mark.parametrize(
    "counts",
    [
        [(7, 10)],  # one scenario: today's Wilson
        [(3, 5), (0, 0)],  # a scenario without runs does not count
        [(10, 10), (5, 5)],  # p = 1: no variance to estimate
        [(0, 10), (0, 4)],  # p = 0
        [(5, 10), (10, 20), (1, 2)],  # every scenario at the same rate: no clustering
    ],
)
def test_clustered_interval_falls_back_to_wilson(counts: list[tuple[int, int]]) -> None:
    r = stats.clustered_interval(counts)
    k, n = sum(c[0] for c in counts), sum(c[1] for c in counts)
    assert r.design_effect == 1.0 and r.n_eff == n
    c = sum(1 for _, n_i in counts if n_i)
    if c < 2:
        assert (r.ci_low, r.ci_high) == pytest.approx(wilson_interval(k, n), abs=1e-12)
    else:  # Wilson with n runs but the t quantile of C-1 df: wider than plain Wilson
        want = stats.wilson_bounds(k / n, n, stats.t_quantile_975(c - 1))
        assert (r.ci_low, r.ci_high) == pytest.approx(want, abs=1e-12)
        assert r.ci_low <= wilson_interval(k, n)[0] and r.ci_high >= wilson_interval(k, n)[1]


def test_clustered_interval_empty_and_bad_counts() -> None:
    r = stats.clustered_interval([])
    assert (r.rate, r.ci_low, r.ci_high, r.n, r.n_scenarios, r.design_effect) == (
        None, None, None, 0, 0, None,
    )  # fmt: skip
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.clustered_interval([(5, 4)])


def _random_suites(seed: int, count: int) -> list[list[tuple[int, int]]]:
    rng = random.Random(seed)
    suites = []
    for _ in range(count):
        base = rng.random()
        suite = []
        for _ in range(rng.choice([1, 2, 3, 7, 25, 60])):
            n = rng.choice([1, 2, 3, 5, 20, 130])
            p = min(1.0, max(0.0, base + rng.uniform(-0.4, 0.4)))
            suite.append((sum(rng.random() < p for _ in range(n)), n))
        suites.append(suite)
    return [*suites, [(0, 5), (0, 3)], [(5, 5), (2, 2)], [(0, 0)], [(3, 3)]]


def test_clustered_interval_follows_the_contract_literally() -> None:
    # recompute the issue's formula the way a check would: V from Σ(k_i - p·n_i)², floats
    for suite in _random_suites(17, 300):
        r = stats.clustered_interval(suite)
        rows = [(k, n) for k, n in suite if n > 0]
        big_n, c = sum(n for _, n in rows), len(rows)
        if big_n == 0:
            assert r.rate is None
            continue
        p = sum(k for k, _ in rows) / big_n
        if c < 2 or p in (0.0, 1.0):
            deff, q = 1.0, (stats.Z95 if c < 2 else stats.t_quantile_975(c - 1))
        else:
            v = c / (c - 1) * sum((k - p * n) ** 2 for k, n in rows) / big_n**2
            deff, q = max(1.0, v * big_n / (p * (1 - p))), stats.t_quantile_975(c - 1)
        assert r.design_effect == pytest.approx(deff, rel=1e-9)
        want = stats.wilson_bounds(p, big_n / deff, q)
        assert (r.ci_low, r.ci_high) == pytest.approx(want, abs=1e-12)
        # and Wilson's own algebra, in the textbook form with centre and half width
        z, m = q, big_n / deff
        centre = (p + z * z / (2 * m)) / (1 + z * z / m)
        half = z * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
        assert r.ci_low == pytest.approx(max(0.0, centre - half), abs=1e-12)
        assert r.ci_high == pytest.approx(min(1.0, centre + half), abs=1e-12)


def test_sql_clustered_macros_equal_python() -> None:
    suites = _random_suites(29, 300)
    rows = [(cell, k, n) for cell, suite in enumerate(suites) for k, n in suite if n > 0]
    con = _macros()
    con.execute("create table runs (cell integer, k bigint, n bigint)")
    con.executemany("insert into runs values (?, ?, ?)", rows)
    got = con.execute(
        """
        with cells as (
            select cell, sum(k) as k, sum(n) as n, sum(k * k) as kk, sum(k * n) as kn,
                   sum(n * n) as nn, count(*) as c
            from runs group by cell
        )
        select cell, design_effect(k, n, kk, kn, nn, c), clustered_low(k, n, kk, kn, nn, c),
               clustered_high(k, n, kk, kn, nn, c)
        from cells order by cell
        """
    ).fetchall()
    assert len(got) == len({r[0] for r in rows}) > 250
    for cell, deff, low, high in got:
        want = stats.clustered_interval(suites[cell])
        assert deff == pytest.approx(want.design_effect, rel=1e-9), suites[cell]
        assert low == pytest.approx(want.ci_low, abs=1e-9), suites[cell]
        assert high == pytest.approx(want.ci_high, abs=1e-9), suites[cell]
    # from sums: the same function the views' numbers can be checked against
    sums = stats.cluster_sums(suites[0])
    assert stats.clustered_from_sums(*sums) == stats.clustered_interval(suites[0])
    assert con.execute("select clustered_low(0, 0, 0, 0, 0, 0)").fetchone() == (None,)


# -- the stratified comparison ------------------------------------------------------------

#: R's ?mantelhaen.test "Rabbits" (Mantel 1963): penicillin level as strata, cured out of
#: treated; immediate injection as the candidate, injection delayed 1.5 h as the baseline
RABBITS = {
    "1/8": (0, 5, 0, 6),
    "1/4": (0, 6, 3, 6),
    "1/2": (2, 6, 6, 6),
    "1": (6, 6, 5, 6),
    "4": (5, 5, 2, 2),
}


def test_cmh_rabbits_exact_conditional_by_hand() -> None:
    # strata 1/8 (no cure) and 4 (all cured) are fixed: S = 0 + a2 + a3 + a4 + 2, observed 16.
    # 1/4: 3 cured of 12, a2 ~ C(3,a)C(9,6-a)/924 = 84, 378, 378, 84 /924 at a = 0..3;
    # 1/2: 8 cured, a3 = 2..6: 28, 224, 420, 224, 28 /924; 1: 11 cured, a4 = 5, 6: 1/2 each.
    # P(a2 + a3 + a4 >= 14) = (3,6,5) + (3,6,6) + (3,5,6) + (2,6,6)
    #   = (84·28 + 84·28 + 84·224 + 378·28) / (2·924²) = 34104 / 1707552 = 0.019972;
    # the distribution is symmetric, so R's two-sided exact p is twice that: 0.03994 (as R
    # prints: "S = 16, p-value = 0.03994").
    # CMH: E = 0 + 1.5 + 4 + 5.5 + 2 = 13, Var = 0.613636 + 0.727273 + 0.25 = 1.590909,
    # X² = (|16 - 13| - 0.5)² / 1.590909 = 3.9286 (R: "Mantel-Haenszel X-squared = 3.9286").
    # Mantel-Fleiss: E - min = 13 - 9 = 4 < 5, so the exact test is the one used.
    r = stats.compare_stratified(RABBITS)
    assert r.method == stats.EXACT_CONDITIONAL
    assert r.p_better == pytest.approx(34104 / 1707552, rel=1e-9)
    assert r.statistic == pytest.approx(3.92857, abs=1e-5)
    assert r.p_worse > 0.99 and r.ci_method == stats.STRATIFIED_NEWCOMBE
    assert r.n_scenarios_both == 5 and r.reason is None


def test_exact_conditional_with_one_scenario_is_fisher() -> None:
    r = stats.compare_stratified({"only": (9, 10, 3, 10)})
    assert r.method == stats.EXACT_CONDITIONAL
    assert r.p_worse == pytest.approx(stats.fisher_less(9, 10, 3, 10), rel=1e-9)
    assert r.p_better == pytest.approx(stats.fisher_less(3, 10, 9, 10), rel=1e-9)


def test_cmh_berkeley_admissions_simpson() -> None:
    # UC Berkeley 1973 (R's UCBAdmissions): men as the baseline, women as the candidate.
    # Pooled, women are admitted 14.2 points less (557/1835 = 30.4 % vs 1198/2691 = 44.5 %),
    # yet department by department they are not: Σ(a - E) = 15.357, ΣVar = 154.691, the
    # uncorrected CMH = 15.357² / 154.691 = 1.5246 (p = 0.2169) and the continuity-corrected
    # one, which this module reports, (|15.357| - 0.5)² / 154.691 = 1.4269, two-sided p = 0.2323.
    ucb = {
        "A": (512, 825, 89, 108),
        "B": (353, 560, 17, 25),
        "C": (120, 325, 202, 593),
        "D": (138, 417, 131, 375),
        "E": (53, 191, 94, 393),
        "F": (22, 373, 24, 341),
    }
    r = stats.compare_stratified(ucb, min_n=30)
    assert r.method == stats.CMH and r.ci_method == stats.SATO
    assert r.naive_change == pytest.approx(557 / 1835 - 1198 / 2691)
    assert r.statistic == pytest.approx(1.42695, abs=1e-5)
    assert 2 * r.p_better == pytest.approx(0.23226, abs=1e-5)
    # each one-sided p keeps the half-unit correction toward the null: with sd = 12.43747,
    # P(S <= x) = Φ((15.357 + 0.5) / sd) = Φ(1.27494) = 0.89884
    assert r.p_worse == pytest.approx(0.89884, abs=1e-5)
    assert r.ci_low_change < 0 < r.change < r.ci_high_change
    assert r.mix_shift == pytest.approx(r.naive_change - r.change) and r.mix_shift < -0.15
    assert stats.verdicts([r])[0].verdict == stats.NO_DIFFERENCE


def test_mh_risk_difference_and_sato_variance_by_hand() -> None:
    # scenario 1: candidate 8/10, baseline 6/10 (T = 20, w = 10·10/20 = 5);
    # scenario 2: candidate 2/4, baseline 6/12 (T = 16, w = 4·12/16 = 3)
    # RD = (5·0.2 + 3·0) / 8 = 0.125
    # Sato: P1 = (10²·6 - 10²·8 + 10·10·0/2) / 20² = -0.5, P2 = (4²·6 - 12²·2 + 4·12·8/2)/16² = 0
    #       Q1 = (8·4 + 6·2) / 40 = 1.1, Q2 = (2·6 + 6·2) / 32 = 0.75
    #       Var = (0.125·(-0.5) + 1.85) / 8² = 0.0279296875; half width 1.959964·0.167122
    r = stats.compare_stratified({"s1": (6, 10, 8, 10), "s2": (6, 12, 2, 4)})
    assert r.change == pytest.approx(0.125) and r.ci_method == stats.SATO
    half = stats.Z95 * math.sqrt(0.0279296875)
    assert (r.ci_low_change, r.ci_high_change) == pytest.approx((0.125 - half, 0.125 + half))


@pytest.mark.parametrize(
    ("counts", "ci_method", "low", "high"),
    [
        # Newcombe (1998) table II, 56/70 - 48/80: method 1 (Wald) 0.0575 to 0.3425, which
        # Sato's variance reduces to with one scenario
        ((48, 80, 56, 70), stats.SATO, 0.0575, 0.3425),
        # 9/10 - 3/10: few runs, so the hybrid score interval (method 10): 0.1705 to 0.8090
        ((3, 10, 9, 10), stats.STRATIFIED_NEWCOMBE, 0.1705, 0.8090),
    ],
)
def test_risk_difference_interval_with_one_scenario_is_newcombe(
    counts: tuple[int, int, int, int], ci_method: str, low: float, high: float
) -> None:
    r = stats.compare_stratified({"s": counts})
    assert r.ci_method == ci_method
    assert (r.ci_low_change, r.ci_high_change) == pytest.approx((low, high), abs=5e-5)


def test_one_sided_scenarios_are_counted_named_and_kept_out_of_the_test() -> None:
    both = {"s1": (40, 50, 40, 50), "s2": (10, 50, 10, 50)}
    extra = {"new-hard": (0, 0, 2, 40), "retired": (30, 30, 0, 0), "never": (0, 0, 0, 0)}
    r = stats.compare_stratified(both | extra, min_n=30)
    alone = stats.compare_stratified(both, min_n=30)
    assert (r.n_scenarios_both, r.n_scenarios_baseline_only, r.n_scenarios_candidate_only) == (
        2, 1, 1,
    )  # fmt: skip
    assert r.scenarios_baseline_only == ("retired",)
    assert r.scenarios_candidate_only == ("new-hard",)
    # the test and the change see only the common scenarios ...
    assert (r.change, r.p_worse, r.p_better, r.statistic) == (
        alone.change, alone.p_worse, alone.p_better, alone.statistic,
    )  # fmt: skip
    assert r.change == 0.0
    # ... the naive change sees every run: 52/140 vs 80/130
    assert (r.n_baseline, r.n_candidate, r.n_scenarios_baseline) == (130, 140, 3)
    assert r.naive_change == pytest.approx(52 / 140 - 80 / 130)
    assert r.mix_shift == pytest.approx(r.naive_change)
    assert stats.verdicts([r], max_drop=0.0)[0].verdict == stats.NO_DIFFERENCE


@pytest.mark.parametrize(
    ("strata", "min_n", "why"),
    [
        ({"a": (5, 10, 0, 0), "b": (0, 0, 4, 9)}, 1, "no scenario ran on both versions"),
        ({"a": (5, 10, 6, 10), "b": (0, 0, 40, 50)}, 30, "hold 10 baseline and 10 candidate"),
        ({}, 1, "no scenario ran on both versions"),
    ],
)
def test_insufficient_cells_say_why(strata: dict[str, tuple[int, int, int, int]], min_n: int,
                                    why: str) -> None:  # fmt: skip
    r = stats.compare_stratified(strata, min_n=min_n)
    assert r.reason is not None and why in r.reason
    assert r.p_worse is r.p_better is r.method is None
    (v,) = stats.verdicts([r])
    assert v.verdict == stats.INSUFFICIENT and why in v.reason and not v.fails_gate
    assert stats.verdicts([r], strict=True)[0].fails_gate


def test_compare_stratified_refuses_bad_counts() -> None:
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.compare_stratified({"a": (5, 4, 1, 4)})


# -- the verdict rule ---------------------------------------------------------------------


def _drop(k_b: int, k_c: int, n: int = 100, scenarios: int = 4) -> stats.StratifiedComparison:
    """A cell of ``scenarios`` scenarios, each k_b/n on the baseline and k_c/n after."""
    return stats.compare_stratified({f"s{i}": (k_b, n, k_c, n) for i in range(scenarios)})


def test_verdicts_worse_better_and_max_drop() -> None:
    worse, small, better, same = (
        _drop(80, 60),
        _drop(900, 860, n=1000),
        _drop(60, 80),
        _drop(70, 70),
    )
    got = stats.verdicts([worse, small, better, same], alpha=0.05, max_drop=0.05)
    assert [v.verdict for v in got] == [stats.WORSE, stats.WORSE, stats.BETTER, stats.NO_DIFFERENCE]
    assert [v.fails_gate for v in got] == [True, False, False, False]
    assert "within max_drop" in got[1].reason
    # Holm over the 4 tested cells, one family per direction
    assert got[0].p_holm_worse == pytest.approx(
        stats.holm([c.p_worse for c in (worse, small, better, same)])[0]  # type: ignore[misc]
    )
    assert got[2].p_holm_better == pytest.approx(
        stats.holm([c.p_better for c in (worse, small, better, same)])[2]  # type: ignore[misc]
    )


def test_verdicts_holm_makes_a_borderline_cell_no_difference_among_many() -> None:
    borderline = dataclasses.replace(_drop(80, 60), p_worse=0.03, p_better=0.97)
    alone = stats.verdicts([borderline])[0]
    assert alone.verdict == stats.WORSE and alone.fails_gate
    among = stats.verdicts([borderline] + [_drop(70, 70)] * 4)[0]
    assert among.verdict == stats.NO_DIFFERENCE and among.p_holm_worse == pytest.approx(0.15)


def test_verdicts_keep_a_p_value_of_zero() -> None:
    # an underflowed p of exactly 0 is the strongest evidence, not a missing value
    cell = dataclasses.replace(_drop(80, 60), p_worse=0.0)
    assert stats.verdicts([cell])[0].verdict == stats.WORSE


@pytest.mark.parametrize(("alpha", "max_drop"), [(0.0, 0.05), (1.0, 0.05), (0.05, -0.1), (0.05, 1)])
def test_verdicts_refuse_bad_settings(alpha: float, max_drop: float) -> None:
    with pytest.raises(ValueError, match=r"alpha|max_drop"):
        stats.verdicts([], alpha=alpha, max_drop=max_drop)


def test_the_issue_17_example_is_no_difference() -> None:
    # every scenario passes at the same rate on both versions (easy 90 %, hard 50 %); v2 is
    # simply tested more on the hard one: 230/300 = 76.7 % -> 190/300 = 63.3 %
    strata = {"easy": (180, 200, 90, 100), "hard": (50, 100, 100, 200)}
    pooled = stats.compare_counts(230, 300, 190, 300, min_n=30)
    assert pooled.p_worse is not None and pooled.p_worse < 1e-3  # today's gate: "regression"
    r = stats.compare_stratified(strata, min_n=30)
    assert (r.rate_baseline, r.rate_candidate) == pytest.approx((230 / 300, 190 / 300))
    assert r.change == 0.0 and r.mix_shift == pytest.approx(-40 / 300)
    assert r.method == stats.CMH and r.p_worse is not None and r.p_worse > 0.4
    (v,) = stats.verdicts([r], max_drop=0.0)
    assert v.verdict == stats.NO_DIFFERENCE and not v.fails_gate
