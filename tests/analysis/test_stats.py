"""The gate's statistics against values checkable by hand (exact fractions, textbook tables)."""

from __future__ import annotations

import math
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
