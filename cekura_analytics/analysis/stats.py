"""The statistics, defined once: Wilson intervals, and the tests for "is this pass rate
worse than that one?" (exact, z) with Holm's correction.

The gate and ``improve impact`` ask one-sided questions of two binomial samples (k passes
out of n). Small counts get Fisher's exact test (the hypergeometric tail); larger ones the
pooled two-proportion z test of :func:`two_proportion_test`. Many
cells tested at once get Holm's step-down correction, which controls the chance of any false
alarm at ``alpha`` without assuming the tests are independent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: two-sided 95 % normal quantile
Z95 = 1.959964
#: the exact test is used when a 2 × 2 cell's expected count (under "no difference") is below
#: this: Cochran's rule for when the normal approximation stops being trustworthy
MIN_EXPECTED = 5.0
EXACT = "fisher exact"
Z_TEST = "z test"


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for ``k`` successes out of ``n``; ``(None, None)`` when n = 0."""
    if n <= 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k <= 0 else max(0.0, centre - half)
    high = 1.0 if k >= n else min(1.0, centre + half)
    return low, high


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float | None, float | None]:
    """Pooled two-proportion z test of p2 vs p1: ``(z, two-sided p-value)``.

    ``(None, None)`` when a side has no trials; ``(0.0, 1.0)`` when the pooled rate is 0 or 1.
    """
    if n1 <= 0 or n2 <= 0:
        return None, None
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (k2 / n2 - k1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def _log_comb(n: int, k: int) -> float:
    """log C(n, k) through lgamma, so large tables need no huge integers."""
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_less(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided Fisher exact p-value of "rate 2 < rate 1": P(X <= k2), X hypergeometric."""
    _check(k1, n1, k2, n2)
    passes, total = k1 + k2, n1 + n2
    low, high = max(0, passes - n1), min(passes, n2)
    if n1 == 0 or n2 == 0 or low == high:
        return 1.0
    denom = _log_comb(total, n2)

    def pmf(x: int) -> float:
        return math.exp(_log_comb(passes, x) + _log_comb(total - passes, n2 - x) - denom)

    # sum the shorter tail; the two tails overlap in x = k2, which belongs to the lower one
    if k2 - low <= high - k2:
        p = math.fsum(pmf(x) for x in range(low, k2 + 1))
    else:
        p = 1.0 - math.fsum(pmf(x) for x in range(k2 + 1, high + 1))
    return min(1.0, max(0.0, p))


def z_less(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """One-sided pooled z test of "rate 2 < rate 1": ``(z, p)`` with p = Φ(z)."""
    _check(k1, n1, k2, n2)
    z, _ = two_proportion_test(k1, n1, k2, n2)
    if z is None:
        return 0.0, 1.0
    return z, 0.5 * math.erfc(-z / math.sqrt(2))


def needs_exact(k1: int, n1: int, k2: int, n2: int, min_expected: float = MIN_EXPECTED) -> bool:
    """True when an expected 2 × 2 count under "same rate" is below ``min_expected``."""
    total = n1 + n2
    if total == 0:
        return True
    pooled = (k1 + k2) / total
    return min(n * r for n in (n1, n2) for r in (pooled, 1 - pooled)) < min_expected


def less_test(k1: int, n1: int, k2: int, n2: int) -> tuple[str, float]:
    """``(method, p)`` of "rate 2 < rate 1": Fisher exact for small counts, else z."""
    if needs_exact(k1, n1, k2, n2):
        return EXACT, fisher_less(k1, n1, k2, n2)
    return Z_TEST, z_less(k1, n1, k2, n2)[1]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order (reject where adjusted < alpha)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        # multiply the rank-th smallest by (m - rank), keep them non-decreasing, cap at 1
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Comparison:
    """Pass counts of one cell in two versions, with rates, intervals and the test."""

    n_baseline: int
    n_passed_baseline: int
    n_candidate: int
    n_passed_candidate: int
    rate_baseline: float | None
    ci_low_baseline: float | None
    ci_high_baseline: float | None
    rate_candidate: float | None
    ci_low_candidate: float | None
    ci_high_candidate: float | None
    change: float | None  # candidate - baseline
    test: str | None  # stats.EXACT or stats.Z_TEST; None when untested
    p_worse: float | None  # one-sided p of "candidate < baseline"
    p_better: float | None  # one-sided p of "candidate > baseline"


def compare_counts(k_b: int, n_b: int, k_c: int, n_c: int, min_n: int) -> Comparison:
    """Rates, intervals and both one-sided tests of one cell (untested below ``min_n``)."""
    lo_b, hi_b = wilson_interval(k_b, n_b)
    lo_c, hi_c = wilson_interval(k_c, n_c)
    rate_b = k_b / n_b if n_b else None
    rate_c = k_c / n_c if n_c else None
    tested = n_b >= max(min_n, 1) and n_c >= max(min_n, 1)
    method = p_worse = p_better = None
    if tested:
        method, p_worse = less_test(k_b, n_b, k_c, n_c)
        _, p_better = less_test(k_c, n_c, k_b, n_b)
    change = None if rate_b is None or rate_c is None else rate_c - rate_b
    return Comparison(
        n_b, k_b, n_c, k_c, rate_b, lo_b, hi_b, rate_c, lo_c, hi_c, change, method, p_worse,
        p_better,
    )  # fmt: skip


def _check(k1: int, n1: int, k2: int, n2: int) -> None:
    if not (0 <= k1 <= n1 and 0 <= k2 <= n2):
        raise ValueError(f"counts must satisfy 0 <= k <= n, got {k1}/{n1} and {k2}/{n2}")


__all__ = [
    "EXACT",
    "MIN_EXPECTED",
    "Z95",
    "Z_TEST",
    "Comparison",
    "compare_counts",
    "fisher_less",
    "holm",
    "less_test",
    "needs_exact",
    "two_proportion_test",
    "wilson_interval",
    "z_less",
]
