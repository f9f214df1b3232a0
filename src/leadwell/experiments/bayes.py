"""Bayesian comparison: chance to beat the control, expected loss, credible intervals.

Conversions: each arm's rate has a uniform Beta(1, 1) prior, so its posterior is
Beta(1 + x, 1 + n − x). The chance that the variant's rate is above the control's is computed
exactly (a finite sum of Beta functions, below); the expected losses follow from the same sum with
one parameter shifted. Revenue: each arm's mean has the normal posterior N(mean, variance ÷ n), so
the difference is normal and both numbers have closed forms.

The 95 % credible intervals of the difference and of the relative lift come from ``draws`` seeded
posterior draws: the same inputs and seed always give the same interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln
from scipy.stats import norm

from leadwell.errors import InvalidInput
from leadwell.experiments.arms import (
    Arm,
    Counts,
    FloatArray,
    JsonReady,
    Sums,
    check_pair,
    none_if_nan,
    sum_moments,
)

# The exact sum has as many terms as the smallest posterior parameter; past this many the posteriors
# are so close to normal that the normal approximation agrees to many decimals, at a fraction of the work.
EXACT_TERMS_LIMIT = 100_000
CREDIBLE_LEVEL = 0.95


@dataclass(frozen=True)
class Bayesian(JsonReady):
    """The posterior view of a variant against the control."""

    chance_to_beat: float  # P(variant > control)
    expected_loss: float | None  # E[max(control − variant, 0)]: the cost of choosing the variant
    expected_loss_control: float | None  # E[max(variant − control, 0)]: the cost of keeping the control
    difference_low: float | None  # 95 % credible interval of variant − control
    difference_high: float | None
    relative_low: float | None  # 95 % credible interval of variant ÷ control − 1
    relative_high: float | None
    control_mean: float  # posterior means
    variant_mean: float


def _beta_sum(a1: int, b1: int, a2: int, b2: int) -> float:
    """P(X2 > X1) for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2) with integer ``a2``:

    Σ_{i=0}^{a2−1} B(a1 + i, b1 + b2) / ((b2 + i) · B(1 + i, b2) · B(a1, b1)), summed in logs."""
    i = np.arange(a2, dtype=np.float64)
    terms = betaln(a1 + i, b1 + b2) - np.log(b2 + i) - betaln(1 + i, b2) - betaln(a1, b1)
    return float(np.exp(terms).sum())


def beta_chance_greater(a1: int, b1: int, a2: int, b2: int) -> float:
    """P(X2 > X1) for independent X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2), integer parameters.

    The sum runs over one parameter; by symmetry (swap the arms, or reflect both rates to 1 − rate)
    any of the four can be that one, so the smallest is used."""
    smallest = min(a1, b1, a2, b2)
    if smallest > EXACT_TERMS_LIMIT:
        mean1, var1 = _beta_mean_variance(a1, b1)
        mean2, var2 = _beta_mean_variance(a2, b2)
        return normal_chance_and_losses(mean2 - mean1, math.sqrt(var1 + var2))[0]
    if smallest == a2:
        chance = _beta_sum(a1, b1, a2, b2)
    elif smallest == a1:
        chance = 1 - _beta_sum(a2, b2, a1, b1)
    elif smallest == b1:
        chance = _beta_sum(b2, a2, b1, a1)  # P(1 − X1 > 1 − X2)
    else:
        chance = 1 - _beta_sum(b1, a1, b2, a2)  # 1 − P(1 − X2 > 1 − X1)
    return min(max(chance, 0.0), 1.0)


def beta_expected_losses(a1: int, b1: int, a2: int, b2: int) -> tuple[float, float]:
    """``(E[max(X1 − X2, 0)], E[max(X2 − X1, 0)])`` for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2).

    Uses x · Beta(a, b) density = a/(a + b) · Beta(a + 1, b) density, so
    E[X1 · 1(X1 > X2)] = a1/(a1 + b1) · P(X1' > X2) with X1' ~ Beta(a1 + 1, b1), and likewise for X2."""
    mean1, mean2 = a1 / (a1 + b1), a2 / (a2 + b2)
    first_above = mean1 * (1 - beta_chance_greater(a1 + 1, b1, a2, b2))  # E[X1 · 1(X1 > X2)]
    second_below = mean2 * (1 - beta_chance_greater(a1, b1, a2 + 1, b2))  # E[X2 · 1(X1 > X2)]
    second_above = mean2 * beta_chance_greater(a1, b1, a2 + 1, b2)  # E[X2 · 1(X2 > X1)]
    first_below = mean1 * beta_chance_greater(a1 + 1, b1, a2, b2)  # E[X1 · 1(X2 > X1)]
    return max(first_above - second_below, 0.0), max(second_above - first_below, 0.0)


def normal_chance_and_losses(mean: float, sd: float) -> tuple[float, float, float]:
    """For a difference D ~ N(mean, sd²): ``(P(D > 0), E[max(−D, 0)], E[max(D, 0)])``.

    E[max(−D, 0)] = sd·φ(mean/sd) − mean·Φ(−mean/sd); E[max(D, 0)] = sd·φ(mean/sd) + mean·Φ(mean/sd).
    With sd = 0 the difference is certain."""
    if sd <= 0:
        return (0.5 if mean == 0 else float(mean > 0)), max(-mean, 0.0), max(mean, 0.0)
    ratio = mean / sd
    density = sd * float(norm.pdf(ratio))
    return (
        float(norm.cdf(ratio)),
        max(density - mean * float(norm.cdf(-ratio)), 0.0),
        max(density + mean * float(norm.cdf(ratio)), 0.0),
    )


def _beta_mean_variance(a: int, b: int) -> tuple[float, float]:
    return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))


def _credible(values: FloatArray) -> tuple[float | None, float | None]:
    """The central 95 % of the draws; ``None`` where a ratio over a mean near 0 overflowed."""
    tail = (1 - CREDIBLE_LEVEL) / 2 * 100
    with np.errstate(invalid="ignore"):
        low, high = np.percentile(values, [tail, 100 - tail])
    return none_if_nan(float(low)), none_if_nan(float(high))


def _check_draws(draws: int, seed: int) -> None:
    if draws < 100:
        raise InvalidInput(f"at least 100 posterior draws are needed (got {draws})", field="draws")
    if seed < 0:
        raise InvalidInput(f"a seed is a non-negative integer (got {seed})", field="seed")


def bayesian(control: Arm, variant: Arm, *, draws: int = 20000, seed: int = 0) -> Bayesian:
    """Posterior comparison of the variant with the control (see the module's description)."""
    check_pair(control, variant)
    _check_draws(draws, seed)
    rng = np.random.default_rng(seed)
    if isinstance(control, Counts) and isinstance(variant, Counts):
        return _compare_counts(control, variant, draws, rng)
    assert isinstance(control, Sums) and isinstance(variant, Sums)
    return _compare_sums(control, variant, draws, rng)


def _compare_counts(control: Counts, variant: Counts, draws: int, rng: np.random.Generator) -> Bayesian:
    a1, b1 = 1 + control.x, 1 + control.n - control.x
    a2, b2 = 1 + variant.x, 1 + variant.n - variant.x
    loss, loss_control = beta_expected_losses(a1, b1, a2, b2)
    rates1, rates2 = rng.beta(a1, b1, size=draws), rng.beta(a2, b2, size=draws)
    difference_low, difference_high = _credible(rates2 - rates1)
    relative_low, relative_high = _credible(rates2 / rates1 - 1)
    return Bayesian(
        chance_to_beat=beta_chance_greater(a1, b1, a2, b2),
        expected_loss=loss,
        expected_loss_control=loss_control,
        difference_low=difference_low,
        difference_high=difference_high,
        relative_low=relative_low,
        relative_high=relative_high,
        control_mean=a1 / (a1 + b1),
        variant_mean=a2 / (a2 + b2),
    )


def _compare_sums(control: Sums, variant: Sums, draws: int, rng: np.random.Generator) -> Bayesian:
    m1, v1 = (float(value) for value in sum_moments(control.n, control.total, control.total_sq))
    m2, v2 = (float(value) for value in sum_moments(variant.n, variant.total, variant.total_sq))
    if control.n < 2 or variant.n < 2:
        # A mean's spread cannot be estimated from fewer than two units: nothing to say yet.
        return Bayesian(0.5, None, None, None, None, None, None, m1, m2)
    sd1, sd2 = math.sqrt(v1 / control.n), math.sqrt(v2 / variant.n)
    chance, loss, loss_control = normal_chance_and_losses(m2 - m1, math.hypot(sd1, sd2))
    means1, means2 = rng.normal(m1, sd1, size=draws), rng.normal(m2, sd2, size=draws)
    difference_low, difference_high = _credible(means2 - means1)
    relative_low = relative_high = None
    if m1 > 0:
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            ratios = means2 / means1 - 1
        relative_low, relative_high = _credible(ratios)
    return Bayesian(
        chance_to_beat=chance,
        expected_loss=loss,
        expected_loss_control=loss_control,
        difference_low=difference_low,
        difference_high=difference_high,
        relative_low=relative_low,
        relative_high=relative_high,
        control_mean=m1,
        variant_mean=m2,
    )
