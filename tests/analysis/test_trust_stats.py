"""How far to trust the judge: Cohen's kappa, Rogan-Gladen and the corrected pass rate, against
hand-checked tables, an independent implementation and seeded simulations of coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from cekura_analytics.analysis.stats import (
    cohen_kappa,
    corrected_pass_rate,
    rogan_gladen,
    wilson_interval,
)


def test_kappa_of_a_hand_checked_table() -> None:
    """Judge by rows, reviewer by columns: 20 both pass, 5 judge pass / reviewer fail, 10 judge
    fail / reviewer pass, 15 both fail (n = 50).

    p_o = (20 + 15) / 50 = 0.70; margins: judge 25/50 = 0.5 pass, reviewer 30/50 = 0.6 pass,
    so p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.50 and kappa = (0.70 - 0.50) / (1 - 0.50) = 0.40.
    Fleiss-Cohen-Everitt variance, with cell shares .4 .1 / .2 .3 and 1 - kappa = .6:
      A = .4 (1 - (.5 + .6) .6)^2 + .3 (1 - (.5 + .4) .6)^2 = .4 * .1156 + .3 * .2116 = .10972
      B = .6^2 (.1 (.6 + .5)^2 + .2 (.4 + .5)^2) = .36 (.121 + .162) = .10188
      C = (.4 - .5 * .6)^2 = .01
      var = (A + B - C) / (50 * .5^2) = .2016 / 12.5 = .016128, se = .126996
    95 %: .4 -+ 1.959964 * .126996 = [.15109, .64891].
    """
    k = cohen_kappa(20, 5, 10, 15)
    assert (k.n, k.observed, k.expected) == (50, pytest.approx(0.70), pytest.approx(0.50))
    assert k.kappa == pytest.approx(0.40)
    assert k.se == pytest.approx(math.sqrt(0.016128), abs=1e-9)
    assert (k.ci_low, k.ci_high) == (
        pytest.approx(0.15109, abs=1e-5),
        pytest.approx(0.64891, abs=1e-5),
    )


def _fce_literal(t: list[list[int]]) -> tuple[float, float]:
    """kappa and its standard error as Fleiss, Cohen & Everitt (1969) print them: everything
    over (1 - p_e)^4, with (p_o p_e - 2 p_e + p_o)^2 as the last term."""
    n = sum(map(sum, t))
    p = [[c / n for c in row] for row in t]
    row = [sum(r) for r in p]
    col = [p[0][j] + p[1][j] for j in range(2)]
    po, pe = p[0][0] + p[1][1], row[0] * col[0] + row[1] * col[1]
    first = sum(p[i][i] * ((1 - pe) - (col[i] + row[i]) * (1 - po)) ** 2 for i in range(2))
    second = (1 - po) ** 2 * sum(
        p[i][j] * (col[i] + row[j]) ** 2 for i in range(2) for j in range(2) if i != j
    )
    third = (po * pe - 2 * pe + po) ** 2
    return (po - pe) / (1 - pe), math.sqrt((first + second - third) / (n * (1 - pe) ** 4))


@pytest.mark.parametrize(
    "table", [[[88, 14], [10, 40]], [[101, 6], [48, 497]], [[3, 0], [15, 164]], [[5, 9], [7, 2]]]
)
def test_kappa_equals_independent_computations(table: list[list[int]]) -> None:
    (a, b), (c, d) = table
    got = cohen_kappa(a, b, c, d)
    judge = [1] * (a + b) + [0] * (c + d)
    reviewer = [1] * a + [0] * b + [1] * c + [0] * d
    assert got.kappa == pytest.approx(cohen_kappa_score(judge, reviewer))
    kappa, se = _fce_literal(table)
    assert (got.kappa, got.se) == (pytest.approx(kappa), pytest.approx(se))


def test_kappa_at_the_edges() -> None:
    assert cohen_kappa(0, 0, 0, 0).kappa is None  # nothing reviewed
    constant = cohen_kappa(30, 0, 0, 0)  # both always pass: chance agreement is certain
    assert constant.kappa is None and constant.observed == 1.0 and constant.expected == 1.0
    perfect = cohen_kappa(12, 0, 0, 8)
    assert (perfect.kappa, perfect.se, perfect.ci_low, perfect.ci_high) == (1.0, 0.0, 1.0, 1.0)
    opposite = cohen_kappa(0, 10, 10, 0)
    assert opposite.kappa == pytest.approx(-1.0) and opposite.ci_low == -1.0
    with pytest.raises(ValueError, match=">= 0"):
        cohen_kappa(1, -1, 0, 0)


@pytest.mark.parametrize(
    ("shares", "n"),
    [((0.3, 0.05, 0.1, 0.55), 200), ((0.15, 0.02, 0.08, 0.75), 400), ((0.4, 0.1, 0.1, 0.4), 80)],
)
def test_kappa_interval_covers_the_true_kappa(shares: tuple[float, ...], n: int) -> None:
    """Seeded: tables of n runs drawn from true cell shares (the mock's agreement tables look
    like the second); the 95 % interval holds the true kappa 93-97 % of the time."""
    a, b, c, d = shares
    pe = (a + b) * (a + c) + (c + d) * (b + d)
    truth = (a + d - pe) / (1 - pe)
    rng = np.random.default_rng(18)
    tables = rng.multinomial(n, shares, size=2000)
    hits = 0
    for t in tables:
        k = cohen_kappa(*(int(x) for x in t))
        hits += k.ci_low is not None and k.ci_high is not None and k.ci_low <= truth <= k.ci_high
    print(f"kappa {truth:.3f}, n {n}: coverage {hits / len(tables):.3f}")
    assert 0.93 <= hits / len(tables) <= 0.975


def test_rogan_gladen_textbook() -> None:
    """Observed 20 % positive with Se 0.90 and Sp 0.95: (0.20 + 0.95 - 1) / (0.90 + 0.95 - 1)
    = 0.15 / 0.85 = 0.17647 (Rogan & Gladen 1978, their equation 2)."""
    assert rogan_gladen(0.20, 0.90, 0.95) == pytest.approx(0.15 / 0.85)
    assert rogan_gladen(0.02, 0.90, 0.95) == 0.0  # below the false-positive floor: clipped
    assert rogan_gladen(0.5, 0.5, 0.5) is None  # a coin: nothing to correct with


def test_corrected_rate_is_the_two_phase_estimate_and_rogan_gladen_agrees() -> None:
    # judge passes 90 %; reviewers overturned 8 of 168 failures, failed 6 of 107 passes
    got = corrected_pass_rate((0.90, 0.88, 0.92), 8, 168, 6, 107, min_reviewed=20)
    want = 0.90 * (1 - 6 / 107) + 0.10 * 8 / 168
    assert got.rate == pytest.approx(want) and got.reason is None
    assert got.sensitivity is not None and got.specificity is not None
    assert rogan_gladen(0.90, got.sensitivity, got.specificity) == pytest.approx(want)
    assert got.ci_low is not None and got.ci_high is not None
    assert got.ci_low < want < got.ci_high
    # a perfect judge: nothing overturned, nothing missed -> the judge's own rate
    perfect = corrected_pass_rate((0.7, 0.65, 0.75), 0, 50, 0, 50, min_reviewed=20)
    assert perfect.rate == pytest.approx(0.7) and (perfect.sensitivity, perfect.specificity) == (
        pytest.approx(1.0),
        pytest.approx(1.0),
    )
    assert perfect.ci_low is not None and perfect.ci_high is not None
    assert perfect.ci_low < 0.65 and perfect.ci_high > 0.75  # no review is proof of perfection


@pytest.mark.parametrize(
    ("failed", "passed", "words"),
    [
        (19, 40, "19 reviewed failures: fewer than 20"),
        (40, 3, "3 reviewed passes: fewer than 20"),
    ],
)
def test_no_correction_below_the_threshold(failed: int, passed: int, words: str) -> None:
    got = corrected_pass_rate((0.9, 0.85, 0.95), 2, failed, 1, passed, min_reviewed=20)
    assert got.rate is None and got.ci_low is None and got.reason == words


@pytest.mark.parametrize(
    ("p", "o", "m", "n", "n_failed", "n_passed"),
    [
        (0.90, 0.05, 0.08, 3000, 168, 107),  # like the mock's Appointment Booked
        (0.85, 0.40, 0.08, 3800, 154, 265),  # the miscalibrated Customer Sentiment
        (0.95, 0.03, 0.08, 1000, 20, 20),  # the fewest reviews shown
        (0.70, 0.12, 0.02, 2000, 40, 60),
        (0.50, 0.50, 0.50, 500, 20, 20),
    ],
)
def test_corrected_interval_covers_the_reviewers_rate(
    p: float, o: float, m: float, n: int, n_failed: int, n_passed: int
) -> None:
    """Seeded: the judge's rate, the overturns and the misses drawn binomially; the MOVER
    interval holds p (1 - m) + (1 - p) o 93.5-98.5 % of the time (Wilson inputs are slightly
    conservative)."""
    truth = p * (1 - m) + (1 - p) * o
    rng = np.random.default_rng(7)
    reps = 2000
    ks, os_, ms = (rng.binomial(n, p, reps), rng.binomial(n_failed, o, reps),
                   rng.binomial(n_passed, m, reps))  # fmt: skip
    hits = 0
    for k, over, missed in zip(ks, os_, ms, strict=True):
        low, high = wilson_interval(int(k), n)
        assert low is not None and high is not None
        got = corrected_pass_rate(
            (k / n, low, high), int(over), n_failed, int(missed), n_passed, min_reviewed=20
        )
        assert got.ci_low is not None and got.ci_high is not None
        hits += got.ci_low <= truth <= got.ci_high
    print(f"p {p} o {o} m {m}: coverage {hits / reps:.3f}")
    assert 0.935 <= hits / reps <= 0.985
