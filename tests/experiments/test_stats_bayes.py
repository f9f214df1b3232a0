"""The Bayesian comparison: exact sums against numerical integration and Monte Carlo."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import beta as beta_distribution

from leadwell.errors import InvalidInput
from leadwell.experiments import bayes
from leadwell.experiments.bayes import beta_chance_greater, beta_expected_losses, normal_chance_and_losses
from leadwell.experiments.stats import Counts, Sums, bayesian


def test_worked_by_hand_one_unit_each() -> None:
    # Control 0 of 1 → Beta(1, 2), density 2(1 − t), CDF 1 − (1 − t)²; variant 1 of 1 → Beta(2, 1),
    # density 2t. P(variant > control) = ∫ 2t (1 − (1 − t)²) dt = ∫ (4t² − 2t³) dt = 4/3 − 1/2 = 5/6.
    # E[max(control − variant, 0)] = ∫₀¹ 2(1 − c) ∫₀ᶜ (c − v) 2v dv dc = ∫₀¹ 2(1 − c) c³/3 dc
    #   = (2/3)(1/4 − 1/5) = 1/30; the other side is 1/30 + E[v − c] = 1/30 + (2/3 − 1/3) = 11/30.
    result = bayesian(Counts(n=1, x=0), Counts(n=1, x=1))
    assert result.chance_to_beat == pytest.approx(5 / 6, abs=1e-12)
    assert result.expected_loss == pytest.approx(1 / 30, abs=1e-12)
    assert result.expected_loss_control == pytest.approx(11 / 30, abs=1e-12)
    assert (result.control_mean, result.variant_mean) == pytest.approx((1 / 3, 2 / 3))


def test_no_data_is_a_coin_toss() -> None:
    # Two uniform rates: P = 1/2, and E[max(U1 − U2, 0)] = 1/6.
    result = bayesian(Counts(0, 0), Counts(0, 0))
    assert result.chance_to_beat == pytest.approx(0.5)
    assert result.expected_loss == pytest.approx(1 / 6)
    assert result.expected_loss_control == pytest.approx(1 / 6)


PARAMETERS = [
    (11, 91, 15, 87),  # the smallest parameter is a2
    (3, 50, 2, 60),  # a2 again, variant worse
    (2, 60, 9, 50),  # a1
    (40, 5, 30, 8),  # b1
    (30, 8, 40, 3),  # b2
    (120, 900, 140, 880),
]


@pytest.mark.parametrize(("a1", "b1", "a2", "b2"), PARAMETERS)
def test_chance_matches_numerical_integration(a1: int, b1: int, a2: int, b2: int) -> None:
    def integrand(t: float) -> float:
        return float(beta_distribution.pdf(t, a2, b2) * beta_distribution.cdf(t, a1, b1))

    expected, _ = integrate.quad(integrand, 0, 1, limit=200)
    assert beta_chance_greater(a1, b1, a2, b2) == pytest.approx(expected, abs=1e-9)
    assert beta_chance_greater(a1, b1, a2, b2) + beta_chance_greater(a2, b2, a1, b1) == pytest.approx(1)


@pytest.mark.parametrize(("a1", "b1", "a2", "b2"), PARAMETERS)
def test_chance_and_losses_match_monte_carlo(a1: int, b1: int, a2: int, b2: int) -> None:
    rng = np.random.default_rng(11)
    first = rng.beta(a1, b1, size=1_000_000)
    second = rng.beta(a2, b2, size=1_000_000)
    # One million draws: the standard error of a share is at most 0.0005.
    assert beta_chance_greater(a1, b1, a2, b2) == pytest.approx((second > first).mean(), abs=0.002)
    loss, loss_other = beta_expected_losses(a1, b1, a2, b2)
    assert loss == pytest.approx(np.maximum(first - second, 0).mean(), rel=0.02, abs=1e-5)
    assert loss_other == pytest.approx(np.maximum(second - first, 0).mean(), rel=0.02, abs=1e-5)


def test_large_counts_use_the_normal_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2.0 M and 2.02 M conversions out of 10 M units each: far past the exact sum's limit.
    a1, b1, a2, b2 = 2_000_001, 8_000_001, 2_020_001, 7_980_001
    approximate = beta_chance_greater(a1, b1, a2, b2)
    rng = np.random.default_rng(5)
    draws = (rng.beta(a2, b2, size=400_000) > rng.beta(a1, b1, size=400_000)).mean()
    assert approximate == pytest.approx(draws, abs=0.003)
    # Where both apply (1,500 conversions), the exact sum and the normal limit agree.
    exact = beta_chance_greater(1501, 8501, 1560, 8442)
    monkeypatch.setattr(bayes, "EXACT_TERMS_LIMIT", 10)
    assert beta_chance_greater(1501, 8501, 1560, 8442) == pytest.approx(exact, abs=0.002)


def test_counts_credible_intervals_match_monte_carlo() -> None:
    result = bayesian(Counts(1000, 100), Counts(1000, 130), draws=20000, seed=3)
    rng = np.random.default_rng(99)
    control, variant = rng.beta(101, 901, size=400_000), rng.beta(131, 871, size=400_000)
    low, high = np.percentile(variant - control, [2.5, 97.5])
    assert (result.difference_low, result.difference_high) == pytest.approx((low, high), abs=0.002)
    relative_low, relative_high = np.percentile(variant / control - 1, [2.5, 97.5])
    assert result.relative_low == pytest.approx(relative_low, abs=0.02)
    assert result.relative_high == pytest.approx(relative_high, abs=0.02)


def test_same_seed_same_answer_other_seed_other_draws() -> None:
    first = bayesian(Counts(500, 40), Counts(510, 55), seed=7)
    assert bayesian(Counts(500, 40), Counts(510, 55), seed=7) == first
    other = bayesian(Counts(500, 40), Counts(510, 55), seed=8)
    assert other.chance_to_beat == first.chance_to_beat  # exact, not drawn
    assert other.difference_low != first.difference_low


def test_revenue_uses_normal_posteriors() -> None:
    # Control mean 2 (variance 1, n 3): posterior sd sqrt(1/3); variant mean 5 (variance 20/3, n 4):
    # sd sqrt(5/3). The difference is N(3, 2): P(> 0) = Φ(3/√2) = Φ(2.121320) = 0.983052.
    result = bayesian(Sums(3, 6.0, 14.0), Sums(4, 20.0, 120.0))
    assert result.chance_to_beat == pytest.approx(0.983052, abs=1e-6)
    rng = np.random.default_rng(4)
    difference = rng.normal(3, np.sqrt(2), size=2_000_000)
    assert result.expected_loss == pytest.approx(np.maximum(-difference, 0).mean(), rel=0.01)
    assert result.expected_loss_control == pytest.approx(np.maximum(difference, 0).mean(), rel=0.01)
    assert result.difference_low == pytest.approx(3 - 1.959964 * np.sqrt(2), abs=0.06)
    assert result.difference_high == pytest.approx(3 + 1.959964 * np.sqrt(2), abs=0.06)


def test_normal_losses_differ_by_the_mean() -> None:
    # E[max(D, 0)] − E[max(−D, 0)] = E[D] for any distribution.
    for mean, sd in [(0.3, 1.0), (-2.0, 0.5), (0.0, 3.0)]:
        _, loss, loss_other = normal_chance_and_losses(mean, sd)
        assert loss_other - loss == pytest.approx(mean)
    assert normal_chance_and_losses(1.5, 0.0) == (1.0, 0.0, 1.5)
    assert normal_chance_and_losses(0.0, 0.0) == (0.5, 0.0, 0.0)


def test_revenue_with_too_few_units_says_nothing() -> None:
    result = bayesian(Sums(1, 5.0, 25.0), Sums(8, 40.0, 300.0))
    assert result.chance_to_beat == 0.5
    assert result.expected_loss is None and result.difference_low is None
    json.dumps(result.as_dict(), allow_nan=False)


def test_revenue_without_earnings_in_the_control_has_no_relative_interval() -> None:
    result = bayesian(Sums(20, 0.0, 0.0), Sums(20, 40.0, 400.0))
    assert result.relative_low is None and result.difference_low is not None
    # Variant variance (400 − 20 × 2²)/19 = 16.842 → posterior sd sqrt(16.842/20) = 0.91766; the
    # control's posterior is a point at 0: P = Φ(2 / 0.91766) = Φ(2.17946) = 0.985351.
    assert result.chance_to_beat == pytest.approx(0.985351, abs=1e-6)


@pytest.mark.parametrize(("keyword", "value"), [("draws", 10), ("seed", -1)])
def test_bad_draws_or_seed_are_refused(keyword: str, value: int) -> None:
    with pytest.raises(InvalidInput) as error:
        bayesian(Counts(10, 1), Counts(10, 2), **{keyword: value})
    assert error.value.field == keyword
