"""The statistics, defined once: Wilson intervals, the scenario-clustered interval, and the
tests for "is this pass rate worse than that one?" (exact, z, stratified by scenario) with
Holm's correction.

Runs of one scenario share its difficulty, so they are not independent coin flips:

- :func:`clustered_interval` (and the same in SQL, :func:`sql_macros`) widens a pass rate's
  Wilson interval by the scenario design effect and uses Student's t with C-1 degrees of
  freedom (:func:`t_quantile_975`), C the number of scenarios.
- :func:`compare_stratified` compares two versions scenario by scenario (Cochran-Mantel-
  Haenszel, or the exact conditional test at small counts; the Mantel-Haenszel difference
  with its interval), so a change of scenario mix is not read as a regression;
  :func:`verdicts` turns a family of such cells into ``worse`` / ``better`` / ``no
  difference`` / ``insufficient`` with Holm's correction: the one verdict rule.

The pooled two-sample tests (:func:`compare_counts`: Fisher's exact test where counts are
small, the pooled z test of :func:`two_proportion_test` otherwise) remain for callers that
have no scenarios. Holm's step-down correction controls the chance of any false alarm among
many cells at ``alpha`` without assuming the tests are independent.

How far to trust the judge: :func:`cohen_kappa` (agreement of the judge's and a reviewer's
run verdicts beyond chance, with its interval) and :func:`corrected_pass_rate` (a metric's
pass rate corrected by the overturn and missed rates its reviews show; :func:`rogan_gladen`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

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


# -- Student's t quantile -------------------------------------------------------------------

#: the exact 0.975 quantile of the standard normal, the limit of t975(df) as df grows
_Z975 = 1.959963984540054
#: t975(df) is read from a table of exact values up to this df and from the Cornish-Fisher
#: expansion above it, where the expansion's error is below 4e-8 (Abramowitz & Stegun 26.7.5)
T975_TABLE_MAX_DF = 30


def _t_central_prob(theta: float, df: int) -> float:
    """P(|T| <= sqrt(df)·tan(theta)) for integer ``df`` (Abramowitz & Stegun 26.7.3-4)."""
    s, c = math.sin(theta), math.cos(theta)
    cc = c * c
    if df % 2 == 0:
        # sin θ · (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + ... up to cos^(df-2)θ)
        term = total = 1.0
        for j in range(1, df // 2):
            term *= cc * (2 * j - 1) / (2 * j)
            total += term
        return s * total
    if df == 1:
        return 2 * theta / math.pi
    # 2/π · (θ + sin θ · (cos θ + 2/3 cos³θ + 2·4/(3·5) cos⁵θ + ... up to cos^(df-2)θ))
    term = total = c
    for j in range(1, (df - 1) // 2):
        term *= cc * (2 * j) / (2 * j + 1)
        total += term
    return 2 / math.pi * (theta + s * total)


def _t975_exact(df: int) -> float:
    """The exact 0.975 quantile by bisection on the angle (the CDF is exact for integer df)."""
    low, high = 0.0, math.pi / 2
    for _ in range(200):  # bounded; stops when the bracket can shrink no more
        mid = (low + high) / 2
        if mid in (low, high):
            break
        if _t_central_prob(mid, df) < 0.95:
            low = mid
        else:
            high = mid
    return math.sqrt(df) * math.tan((low + high) / 2)


@cache
def _t975_table() -> tuple[float, ...]:
    return tuple(_t975_exact(df) for df in range(1, T975_TABLE_MAX_DF + 1))


def _cornish_fisher_terms() -> tuple[float, float, float, float]:
    x = _Z975
    return (
        (x**3 + x) / 4,
        (5 * x**5 + 16 * x**3 + 3 * x) / 96,
        (3 * x**7 + 19 * x**5 + 17 * x**3 - 15 * x) / 384,
        (79 * x**9 + 776 * x**7 + 1482 * x**5 - 1920 * x**3 - 945 * x) / 92160,
    )


def t_quantile_975(df: int) -> float:
    """Student's t 0.975 quantile for integer ``df >= 1`` (error below 4e-8; SQL: ``t975``)."""
    if int(df) != df or df < 1:
        raise ValueError(f"t quantile: degrees of freedom must be an integer >= 1, got {df}")
    df = int(df)
    if df <= T975_TABLE_MAX_DF:
        return _t975_table()[df - 1]
    g1, g2, g3, g4 = _cornish_fisher_terms()
    return _Z975 + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _t975_sql() -> str:
    values = [repr(v) for v in _t975_table()]
    rows = ",\n".join(" " * 12 + ", ".join(values[i : i + 4]) for i in range(0, len(values), 4))
    g1, g2, g3, g4 = (repr(g) for g in _cornish_fisher_terms())
    return f"""\
-- Student's t 0.975 quantile for integer df >= 1 (null below): exact values up to df =
-- {T975_TABLE_MAX_DF}, then the Cornish-Fisher expansion (error < 4e-8); stats.t_quantile_975
create or replace macro t975(df) as
    case
        when df >= 1 and df <= {T975_TABLE_MAX_DF} then [
{rows}
        ][cast(df as integer)]
        when df > {T975_TABLE_MAX_DF} then
            {_Z975!r}
            + {g1} / df
            + {g2} / df ^ 2
            + {g3} / df ^ 3
            + {g4} / df ^ 4
    end;
"""


# -- the scenario-clustered interval --------------------------------------------------------


@dataclass(frozen=True)
class ClusteredRate:
    """A pass rate over scenarios run repeatedly, with its scenario-clustered 95 % interval."""

    rate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int  # runs (results)
    n_passed: int
    n_scenarios: int
    design_effect: float | None
    n_eff: float | None  # n / design_effect


def wilson_bounds(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval at rate ``p`` over ``n`` trials (may be fractional), quantile ``z``."""
    if n <= 0:
        raise ValueError(f"Wilson interval needs n > 0, got {n}")
    # with u = z²/n the bounds are (p + u/2 ∓ sqrt(u·p(1-p) + u²/4)) / (1 + u): the same
    # algebra as wilson_interval, written so that SQL repeats the effective n only through u
    u = z * z / n
    half = math.sqrt(u * p * (1 - p) + u * u / 4)
    low = 0.0 if p <= 0 else max(0.0, (p + u / 2 - half) / (1 + u))
    high = 1.0 if p >= 1 else min(1.0, (p + u / 2 + half) / (1 + u))
    return low, high


def cluster_quantile(n_scenarios: int) -> float:
    """The interval's quantile: t(0.975, C-1) for C >= 2 scenarios, else today's 1.96."""
    return Z95 if n_scenarios < 2 else t_quantile_975(n_scenarios - 1)


def cluster_sums(counts: Sequence[tuple[int, int]]) -> tuple[int, int, int, int, int, int]:
    """``(Σk, Σn, Σk², Σk·n, Σn², C)`` over scenarios' ``(passed k, runs n)``; n = 0 skipped."""
    k = n = kk = kn = nn = c = 0
    for k_i, n_i in counts:
        if not 0 <= k_i <= n_i:
            raise ValueError(f"counts must satisfy 0 <= k <= n, got {k_i}/{n_i}")
        if n_i == 0:
            continue
        k, n, kk, kn, nn, c = (
            k + k_i,
            n + n_i,
            kk + k_i * k_i,
            kn + k_i * n_i,
            nn + n_i * n_i,
            c + 1,
        )
    return k, n, kk, kn, nn, c


def clustered_from_sums(
    k: int, n: int, sum_kk: int, sum_kn: int, sum_nn: int, n_scenarios: int
) -> ClusteredRate:
    """:func:`clustered_interval` from per-cell sums (what the SQL views aggregate)."""
    c = n_scenarios
    if n <= 0:
        return ClusteredRate(None, None, None, 0, 0, c, None, None)
    p = k / n
    if c < 2 or k <= 0 or k >= n:
        deff = 1.0
    else:
        # V·N/(p(1-p)) with V = C/(C-1)·Σ(k_i - p·n_i)²/N² is C/(C-1)·S/(N·K·(N-K)), where
        # S = N²·Σ(k_i - p·n_i)² = N²Σk² - 2KNΣkn + K²Σn²: exact in integers, so no cancellation
        s = n * n * sum_kk - 2 * k * n * sum_kn + k * k * sum_nn
        deff = max(1.0, c * s / ((c - 1) * n * k * (n - k)))
    n_eff = n / deff
    low, high = wilson_bounds(p, n_eff, cluster_quantile(c))
    return ClusteredRate(p, low, high, n, k, c, deff, n_eff)


def clustered_interval(counts: Sequence[tuple[int, int]]) -> ClusteredRate:
    """Pass rate and scenario-clustered 95 % interval of one cell from ``(passed, runs)`` pairs.

    The contract (issue 17), with scenarios i, runs n_i, passes k_i, N = Σn_i, p = Σk_i/N and
    C scenarios: V = C/(C-1)·Σ(k_i - p·n_i)²/N²; design_effect = max(1, V·N/(p(1-p))), 1 when
    p is 0 or 1 or C < 2; n_eff = N/design_effect; the interval is Wilson's at p with n_eff
    trials and quantile t(0.975, C-1) (1.96 when C < 2, i.e. today's Wilson interval).

    The estimand is the pass rate of the population of scenarios the suite samples (what the
    agent would score on more scenarios like these), not the run-weighted mean of these very
    scenarios' rates: the between-scenario spread is part of the uncertainty.
    """
    return clustered_from_sums(*cluster_sums(counts))


def _clustered_sql() -> str:
    return f"""\
-- Wilson bounds at rate p with u = z^2 / n (n may be an effective, fractional count);
-- stats.wilson_bounds
create or replace macro wilson_low_u(p, u) as
    case
        when p <= 0 then 0.0
        else greatest(0.0, (p + u / 2 - sqrt(u * p * (1 - p) + u * u / 4)) / (1 + u))
    end;

create or replace macro wilson_high_u(p, u) as
    case
        when p >= 1 then 1.0
        else least(1.0, (p + u / 2 + sqrt(u * p * (1 - p) + u * u / 4)) / (1 + u))
    end;

-- the clustered interval's quantile: t(0.975, c - 1), or {Z95} with fewer than 2 scenarios
create or replace macro cluster_quantile(c) as
    case when c >= 2 then t975(c - 1) else {Z95} end;

-- scenario-clustered pass rates (issue 17; stats.clustered_from_sums) from per-cell sums over
-- scenarios: k = sum(k_i), n = sum(n_i), kk = sum(k_i^2), kn = sum(k_i * n_i),
-- nn = sum(n_i^2), c = number of scenarios. sum((k_i - p n_i)^2) = kk - 2 p kn + p^2 nn, so
-- design_effect = c / (c - 1) * that * n / (k (n - k)), at least 1; 1 when p is 0 or 1 or
-- c < 2; null when n = 0
create or replace macro design_effect(k, n, kk, kn, nn, c) as
    case
        when n > 0 and (c < 2 or k <= 0 or k >= n) then 1.0
        when n > 0 then greatest(
            1.0,
            c / (c - 1) * (kk - 2 * (k / n) * kn + (k / n) ^ 2 * nn) * n
            / (cast(k as double) * (n - k))
        )
    end;

-- the interval from the quantile q = cluster_quantile(c) and the design effect d, given as
-- values: a query that computes q and d once per cell (as columns) and passes them here
-- binds a small expression (macros are inlined: wilson_low_u names u five times, and u
-- would carry t975 and design_effect five times over)
create or replace macro clustered_low_qd(k, n, q, d) as
    case when n > 0 then wilson_low_u(k / n, q ^ 2 * d / n) end;

create or replace macro clustered_high_qd(k, n, q, d) as
    case when n > 0 then wilson_high_u(k / n, q ^ 2 * d / n) end;

create or replace macro clustered_low(k, n, kk, kn, nn, c) as
    clustered_low_qd(k, n, cluster_quantile(c), design_effect(k, n, kk, kn, nn, c));

create or replace macro clustered_high(k, n, kk, kn, nn, c) as
    clustered_high_qd(k, n, cluster_quantile(c), design_effect(k, n, kk, kn, nn, c));
"""


def sql_macros() -> str:
    """DuckDB macros ``t975``, ``design_effect``, ``clustered_low/high`` (and helpers)."""
    return _t975_sql() + "\n" + _clustered_sql()


# -- like with like: the comparison stratified by scenario -----------------------------------

CMH = "CMH"
EXACT_CONDITIONAL = "exact conditional"
SATO = "Wald, Sato variance"
STRATIFIED_NEWCOMBE = "stratified Newcombe"
WORSE, BETTER, NO_DIFFERENCE, INSUFFICIENT = "worse", "better", "no difference", "insufficient"
#: Mantel & Fleiss (1980): CMH's normal approximation is trusted when the summed expected count
#: of candidate passes lies at least this far from both ends of its possible range
MANTEL_FLEISS_MIN = 5.0
#: bound on the exact test's work (multiply-adds of its convolution); beyond it CMH is used
EXACT_MAX_WORK = 2_000_000


@dataclass(frozen=True)
class StratifiedComparison:
    """One cell, baseline vs candidate, compared scenario by scenario (see compare_stratified).

    ``*_baseline`` / ``*_candidate``: every run of that side, with the clustered interval.
    ``change`` (candidate - baseline) and its interval: over the scenarios run on both sides.
    ``naive_change``: pooled over all runs; ``mix_shift = naive_change - change`` is the part
    that comes from the change of scenario mix. ``reason`` is set (and the p-values are None)
    when the cell cannot be tested.
    """

    n_baseline: int
    n_passed_baseline: int
    n_scenarios_baseline: int
    rate_baseline: float | None
    ci_low_baseline: float | None
    ci_high_baseline: float | None
    design_effect_baseline: float | None
    n_candidate: int
    n_passed_candidate: int
    n_scenarios_candidate: int
    rate_candidate: float | None
    ci_low_candidate: float | None
    ci_high_candidate: float | None
    design_effect_candidate: float | None
    n_scenarios_both: int
    n_common_baseline: int  # baseline runs of the scenarios run on both sides
    n_common_candidate: int
    n_scenarios_baseline_only: int
    n_scenarios_candidate_only: int
    scenarios_baseline_only: tuple[str, ...]
    scenarios_candidate_only: tuple[str, ...]
    naive_change: float | None
    change: float | None  # Mantel-Haenszel risk difference, candidate - baseline
    ci_low_change: float | None
    ci_high_change: float | None
    ci_method: str | None  # SATO or STRATIFIED_NEWCOMBE
    mix_shift: float | None
    statistic: float | None  # CMH chi-square (1 df, continuity-corrected)
    method: str | None  # CMH or EXACT_CONDITIONAL: where p_worse / p_better come from
    p_worse: float | None  # one-sided p of "candidate < baseline"
    p_better: float | None  # one-sided p of "candidate > baseline"
    reason: str | None  # why the cell is untested (insufficient), else None


def _hypergeometric(n_c: int, n_b: int, passes: int) -> tuple[int, list[float]]:
    """Candidate passes given the stratum's margins: ``(lowest value, pmf from it on)``."""
    total = n_c + n_b
    low, high = max(0, passes - n_b), min(n_c, passes)
    denom = _log_comb(total, n_c)
    return low, [
        math.exp(_log_comb(passes, a) + _log_comb(total - passes, n_c - a) - denom)
        for a in range(low, high + 1)
    ]


def _exact_conditional(common: list[tuple[int, int, int, int]]) -> tuple[float, float] | None:
    """One-sided exact p-values ``(P(S <= s), P(S >= s))`` of S = Σ candidate passes given
    every scenario's margins (the exact conditional test of a common odds ratio of 1);
    None when the convolution would exceed ``EXACT_MAX_WORK``."""
    work = 0
    offset, dist = 0, [1.0]
    observed = 0
    for k_b, n_b, k_c, n_c in common:
        observed += k_c
        low, pmf = _hypergeometric(n_c, n_b, k_b + k_c)
        offset += low
        if len(pmf) == 1:
            continue
        work += len(dist) * len(pmf)
        if work > EXACT_MAX_WORK:
            return None
        new = [0.0] * (len(dist) + len(pmf) - 1)
        for i, x in enumerate(dist):
            for j, y in enumerate(pmf):
                new[i + j] += x * y
        dist = new
    at = observed - offset
    total = math.fsum(dist)
    lower = math.fsum(dist[: at + 1]) / total
    upper = math.fsum(dist[at:]) / total
    return min(1.0, lower), min(1.0, upper)


def _newcombe_mh(
    common: list[tuple[int, int, int, int]], weights: list[float]
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (MOVER) for the MH-weighted rate difference.

    Each side's weighted rate gets a Wilson interval with the effective count
    (Σw)²/Σ(w²/n) (Yan & Su 2010); with one scenario it is Newcombe's (1998) method 10.
    """
    total_w = math.fsum(weights)
    bounds = []
    for side in (0, 2):  # baseline (k_b, n_b), candidate (k_c, n_c)
        rate = math.fsum(w * s[side] / s[side + 1] for w, s in zip(weights, common, strict=True))
        rate /= total_w
        spread = math.fsum(w * w / s[side + 1] for w, s in zip(weights, common, strict=True))
        low, high = wilson_bounds(rate, total_w * total_w / spread, Z95)
        bounds.append((rate, low, high))
    (p_b, l_b, u_b), (p_c, l_c, u_c) = bounds
    d = p_c - p_b
    low = d - math.sqrt((p_c - l_c) ** 2 + (u_b - p_b) ** 2)
    high = d + math.sqrt((u_c - p_c) ** 2 + (p_b - l_b) ** 2)
    return max(-1.0, low), min(1.0, high)


def compare_stratified(
    strata: Mapping[str, tuple[int, int, int, int]], *, min_n: int = 1
) -> StratifiedComparison:
    """Is the candidate worse than the baseline on this cell? Scenario by scenario.

    ``strata`` maps each scenario (its id or name) to ``(k_baseline, n_baseline, k_candidate,
    n_candidate)``, passes and runs on each side; a scenario with n = 0 on one side ran on
    the other side only: it counts in that side's rate and in the naive change, and is named
    in ``scenarios_*_only``, but only scenarios run on both sides are compared.

    - Test: Cochran-Mantel-Haenszel on the scenarios' 2 × 2 tables, one-sided both ways with
      a continuity correction. When the Mantel-Fleiss criterion fails (the summed expected
      count is within 5 of an end of its range: few failures, or few runs), the exact
      conditional test (the convolution of the scenarios' hypergeometric distributions)
      instead; ``method`` says which.
    - Change: the Mantel-Haenszel risk difference (weights n_b·n_c/(n_b+n_c)) with a 95 %
      Wald interval from Sato's (1989) variance, which holds both for many small scenarios
      and for few large ones; where the Mantel-Fleiss criterion fails, Newcombe's hybrid
      score interval for the weighted rates instead (Wald is too narrow at small counts).
    - Insufficient (``reason`` set, no p-values): no scenario ran on both sides, or the
      common scenarios hold fewer than ``min_n`` runs on a side.
    """
    common: list[tuple[int, int, int, int]] = []
    only_b: list[str] = []
    only_c: list[str] = []
    side_b: list[tuple[int, int]] = []
    side_c: list[tuple[int, int]] = []
    for name, (k_b, n_b, k_c, n_c) in strata.items():
        _check(k_b, n_b, k_c, n_c)
        side_b.append((k_b, n_b))
        side_c.append((k_c, n_c))
        if n_b and n_c:
            common.append((k_b, n_b, k_c, n_c))
        elif n_b:
            only_b.append(str(name))
        elif n_c:
            only_c.append(str(name))
    b, c = clustered_interval(side_b), clustered_interval(side_c)
    naive = None if b.rate is None or c.rate is None else c.rate - b.rate
    n_common_b = sum(s[1] for s in common)
    n_common_c = sum(s[3] for s in common)
    reason = None
    if not common:
        reason = (
            f"no scenario ran on both versions ({len(only_b)} on the baseline only, "
            f"{len(only_c)} on the candidate only)"
        )
    elif min(n_common_b, n_common_c) < max(min_n, 1):
        reason = (
            f"the {len(common)} scenarios run on both versions hold {n_common_b} baseline and "
            f"{n_common_c} candidate results; at least {max(min_n, 1)} per side are needed"
        )
    change = ci_low = ci_high = ci_method = statistic = method = p_worse = p_better = None
    if common:
        change, ci_low, ci_high, ci_method, statistic, method, p_worse, p_better = _mh(common)
        if reason is not None:
            method = p_worse = p_better = None
    mix = None if naive is None or change is None else naive - change
    return StratifiedComparison(
        b.n, b.n_passed, b.n_scenarios, b.rate, b.ci_low, b.ci_high, b.design_effect,
        c.n, c.n_passed, c.n_scenarios, c.rate, c.ci_low, c.ci_high, c.design_effect,
        len(common), n_common_b, n_common_c, len(only_b), len(only_c), tuple(only_b),
        tuple(only_c), naive, change, ci_low, ci_high, ci_method, mix, statistic, method,
        p_worse, p_better, reason,
    )  # fmt: skip


def _mh(
    common: list[tuple[int, int, int, int]],
) -> tuple[float, float, float, str, float | None, str, float, float]:
    """MH difference, its interval and method, CMH statistic, test method and p-values."""
    weights, num, sato_p, sato_q = [], [], [], []
    x = expected = variance = low_end = high_end = 0.0
    for k_b, n_b, k_c, n_c in common:
        t = n_b + n_c
        passes, fails = k_b + k_c, t - k_b - k_c
        weights.append(n_b * n_c / t)
        num.append((k_c * n_b - k_b * n_c) / t)
        # Sato (1989): Var = (RD·ΣP + ΣQ) / (Σw)², group 1 = candidate, group 0 = baseline
        sato_p.append((n_c * n_c * k_b - n_b * n_b * k_c + n_c * n_b * (n_b - n_c) / 2) / t**2)
        sato_q.append((k_c * (n_b - k_b) + k_b * (n_c - k_c)) / (2 * t))
        x += k_c
        expected += n_c * passes / t
        variance += n_c * n_b * passes * fails / (t * t * (t - 1))
        low_end += max(0, passes - n_b)
        high_end += min(n_c, passes)
    total_w = math.fsum(weights)
    change = math.fsum(num) / total_w
    delta = x - expected
    # the statistic as R's mantelhaen.test reports it: the 1/2 correction when |delta| >= 1/2
    yates = 0.5 if abs(delta) >= 0.5 else 0.0
    statistic = (abs(delta) - yates) ** 2 / variance if variance > 0 else None
    small = min(expected - low_end, high_end - expected) < MANTEL_FLEISS_MIN
    exact = _exact_conditional(common) if small else None
    if exact is not None:
        method, (p_worse, p_better) = EXACT_CONDITIONAL, exact
    elif variance > 0:
        sd = math.sqrt(variance)
        # P(S <= x) and P(S >= x), each with the half-unit correction toward the null
        method = CMH
        p_worse = 0.5 * math.erfc(-(delta + 0.5) / sd / math.sqrt(2))
        p_better = 0.5 * math.erfc((delta - 0.5) / sd / math.sqrt(2))
    else:
        method, p_worse, p_better = CMH, 1.0, 1.0
    if small:
        ci_method = STRATIFIED_NEWCOMBE
        ci_low, ci_high = _newcombe_mh(common, weights)
    else:
        ci_method = SATO
        var = max(0.0, (change * math.fsum(sato_p) + math.fsum(sato_q)) / total_w**2)
        half = Z95 * math.sqrt(var)
        ci_low, ci_high = max(-1.0, change - half), min(1.0, change + half)
    return change, ci_low, ci_high, ci_method, statistic, method, p_worse, p_better


@dataclass(frozen=True)
class Verdict:
    """A cell's verdict: ``worse``/``better``/``no difference``/``insufficient``, and why."""

    verdict: str
    reason: str
    p_holm_worse: float | None
    p_holm_better: float | None
    fails_gate: bool  # worse and dropped more than max_drop (or insufficient, when strict)


def verdicts(
    comparisons: Sequence[StratifiedComparison],
    *,
    alpha: float = 0.05,
    max_drop: float = 0.0,
    strict: bool = False,
) -> list[Verdict]:
    """The one verdict rule, for one family of cells (in order).

    Holm's correction runs over the tested cells, once for "worse" and once for "better"
    (each direction's chance of any false claim stays below ``alpha``; the "worse" family is
    exactly the gate's one-sided question). ``worse`` when the adjusted p of "worse" is below
    ``alpha``, ``better`` likewise, else ``no difference``; untested cells are
    ``insufficient``. A cell fails the gate when it is ``worse`` and its drop (baseline -
    candidate, the MH estimate) exceeds ``max_drop``, or, with ``strict``, when insufficient.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not 0 <= max_drop < 1:
        raise ValueError(f"max_drop must be in [0, 1), got {max_drop}")
    tested = [(i, c.p_worse, c.p_better) for i, c in enumerate(comparisons)
              if c.p_worse is not None and c.p_better is not None]  # fmt: skip
    worse = dict(zip([t[0] for t in tested], holm([t[1] for t in tested]), strict=True))
    better = dict(zip([t[0] for t in tested], holm([t[2] for t in tested]), strict=True))
    out = []
    for i, c in enumerate(comparisons):
        if i not in worse:
            out.append(Verdict(INSUFFICIENT, c.reason or "untested", None, None, strict))
            continue
        p_w, p_b = worse[i], better[i]
        drop = -(c.change or 0.0)
        if p_w < alpha:
            fails = drop > max_drop
            why = f"{c.method} one-sided p={c.p_worse:.3g}, Holm p={p_w:.3g} < {alpha:g}"
            if not fails:
                why += f"; drop {100 * drop:.1f} pts is within max_drop {100 * max_drop:.1f}"
            out.append(Verdict(WORSE, why, p_w, p_b, fails))
        elif p_b < alpha:
            why = f"{c.method} one-sided p={c.p_better:.3g}, Holm p={p_b:.3g} < {alpha:g}"
            out.append(Verdict(BETTER, why, p_w, p_b, False))
        else:
            why = f"{c.method} Holm p={p_w:.3g} (worse), {p_b:.3g} (better), alpha {alpha:g}"
            out.append(Verdict(NO_DIFFERENCE, why, p_w, p_b, False))
    return out


# -- how far to trust the judge: agreement with human reviewers -------------------------------


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of two raters' pass/fail verdicts, with its 95 % interval."""

    kappa: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    observed: float | None  # agreement p_o
    expected: float | None  # agreement by chance p_e, from the margins
    n: int


def cohen_kappa(
    both_pass: int, a_pass_b_fail: int, a_fail_b_pass: int, both_fail: int, z: float = Z95
) -> Kappa:
    """Cohen's (1960) kappa of a 2 × 2 table (rater A by rows, B by columns) with a Wald
    interval from the large-sample standard error of Fleiss, Cohen & Everitt (1969)
    (Fleiss, Levin & Paik 2003, eq. 18.15), clipped to [-1, 1].

    kappa = (p_o - p_e) / (1 - p_e): the agreement beyond what the raters' own pass rates
    give by chance. None when the table is empty or chance agreement is certain (both
    raters gave one verdict only: p_e = 1). The interval is asymptotic: with few runs in a
    cell read it as rough.
    """
    cells = ((both_pass, a_pass_b_fail), (a_fail_b_pass, both_fail))
    if any(c < 0 for row in cells for c in row):
        raise ValueError(f"counts must be >= 0, got {cells}")
    n = both_pass + a_pass_b_fail + a_fail_b_pass + both_fail
    if n == 0:
        return Kappa(None, None, None, None, None, None, 0)
    p = [[c / n for c in row] for row in cells]
    rows = [p[0][0] + p[0][1], p[1][0] + p[1][1]]  # rater A's margins
    cols = [p[0][0] + p[1][0], p[0][1] + p[1][1]]  # rater B's margins
    observed = p[0][0] + p[1][1]
    expected = rows[0] * cols[0] + rows[1] * cols[1]
    if expected >= 1.0:
        return Kappa(None, None, None, None, observed, expected, n)
    kappa = (observed - expected) / (1 - expected)
    w = 1 - kappa
    a = math.fsum(p[i][i] * (1 - (rows[i] + cols[i]) * w) ** 2 for i in (0, 1))
    b = (
        w
        * w
        * math.fsum(p[i][j] * (cols[i] + rows[j]) ** 2 for i in (0, 1) for j in (0, 1) if i != j)
    )
    c = (kappa - expected * w) ** 2
    se = math.sqrt(max(0.0, a + b - c) / (n * (1 - expected) ** 2))
    return Kappa(
        kappa, max(-1.0, kappa - z * se), min(1.0, kappa + z * se), se, observed, expected, n
    )


def rogan_gladen(observed: float, sensitivity: float, specificity: float) -> float | None:
    """Rogan & Gladen (1978): the true rate behind an ``observed`` one measured with this
    sensitivity and specificity, ``(p + Sp - 1) / (Se + Sp - 1)`` clipped to [0, 1]; None when
    the test is no better than chance (Se + Sp <= 1)."""
    youden = sensitivity + specificity - 1
    if youden <= 0:
        return None
    return min(1.0, max(0.0, (observed + specificity - 1) / youden))


@dataclass(frozen=True)
class CorrectedRate:
    """A judge's pass rate corrected by what reviewers found, with its 95 % interval."""

    rate: float | None
    ci_low: float | None
    ci_high: float | None
    sensitivity: float | None  # P(judge passes | reviewer would pass), implied
    specificity: float | None  # P(judge fails | reviewer would fail), implied
    reason: str | None  # why there is no corrected rate, else None


def corrected_pass_rate(
    judge: tuple[float, float, float],
    overturned: int,
    reviewed_failed: int,
    missed: int,
    reviewed_passed: int,
    *,
    min_reviewed: int,
) -> CorrectedRate:
    """The pass rate a reviewer would give, from the judge's and a reviewed sample of each.

    ``judge`` is the judge's pass rate p with its 95 % interval (e.g. scenario-clustered); of
    ``reviewed_failed`` failures reviewers overturned ``overturned`` (rate o), of
    ``reviewed_passed`` passes they failed ``missed`` (rate m). Reviewers pick runs by the
    judge's verdict (failures far more often), so the reviews estimate what a verdict is
    worth -- P(reviewer passes | judge verdict) -- within each verdict, not the judge's
    sensitivity and specificity directly; the corrected rate is therefore the two-phase
    (double-sampling) estimate ``p·(1 - m) + (1 - p)·o``. The sensitivity and specificity it
    implies give the same rate through :func:`rogan_gladen`. It holds as far as the reviewed
    runs are typical of their verdict.

    Interval: MOVER (Zou & Donner 2008), the delta method with each input's own interval --
    Wilson's for o and 1 - m, ``judge``'s for p -- so it stays inside [0, 1] and is not
    degenerate when o or m is 0. Below ``min_reviewed`` reviewed failures or passes there is
    no corrected rate (``reason`` says why).
    """
    p, p_low, p_high = judge
    counts = ((reviewed_failed, "failures"), (reviewed_passed, "passes"))
    short = [f"{n} reviewed {what}" for n, what in counts if n < min_reviewed]
    if short:
        return CorrectedRate(
            None, None, None, None, None, f"{' and '.join(short)}: fewer than {min_reviewed}"
        )
    o = overturned / reviewed_failed
    s = 1 - missed / reviewed_passed  # the judge's passes a reviewer upholds
    o_low, o_high = wilson_interval(overturned, reviewed_failed)
    s_low, s_high = wilson_interval(reviewed_passed - missed, reviewed_passed)
    assert o_low is not None and o_high is not None and s_low is not None and s_high is not None
    rate = p * s + (1 - p) * o
    slope = s - o  # d rate / d p
    p_down, p_up = (p - p_low, p_high - p) if slope >= 0 else (p_high - p, p - p_low)
    low = rate - math.hypot(p * (s - s_low), (1 - p) * (o - o_low), abs(slope) * p_down)
    high = rate + math.hypot(p * (s_high - s), (1 - p) * (o_high - o), abs(slope) * p_up)
    sens = p * s / rate if rate > 0 else None
    spec = (1 - p) * (1 - o) / (1 - rate) if rate < 1 else None
    return CorrectedRate(rate, max(0.0, low), min(1.0, high), sens, spec, None)


def _check(k1: int, n1: int, k2: int, n2: int) -> None:
    if not (0 <= k1 <= n1 and 0 <= k2 <= n2):
        raise ValueError(f"counts must satisfy 0 <= k <= n, got {k1}/{n1} and {k2}/{n2}")


__all__ = [
    "BETTER",
    "CMH",
    "EXACT",
    "EXACT_CONDITIONAL",
    "INSUFFICIENT",
    "MANTEL_FLEISS_MIN",
    "MIN_EXPECTED",
    "NO_DIFFERENCE",
    "SATO",
    "STRATIFIED_NEWCOMBE",
    "WORSE",
    "Z95",
    "Z_TEST",
    "ClusteredRate",
    "Comparison",
    "CorrectedRate",
    "Kappa",
    "StratifiedComparison",
    "Verdict",
    "cluster_quantile",
    "cluster_sums",
    "clustered_from_sums",
    "clustered_interval",
    "cohen_kappa",
    "compare_counts",
    "compare_stratified",
    "corrected_pass_rate",
    "fisher_less",
    "holm",
    "less_test",
    "needs_exact",
    "rogan_gladen",
    "sql_macros",
    "t_quantile_975",
    "two_proportion_test",
    "verdicts",
    "wilson_bounds",
    "wilson_interval",
    "z_less",
]
