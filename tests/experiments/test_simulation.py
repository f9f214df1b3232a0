"""What the statistics promise, shown by simulating many experiments at once.

- A/A (no real difference), looked at every day for 30 days: the sequential test's false-positive
  rate stays at or under 5 %, while the fixed-horizon test read every day cries wolf far more often.
- A/B with the lift the plan was sized for: the fixed-horizon test at the planned size finds it
  with the planned power (0.8), and the sequential test finds it with at least that power at the
  larger size its own plan gives.

Each experiment is a row of numpy arrays; the tests call the same array helpers the scalar functions
are built on. Run with ``-s`` to see the rates.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from leadwell.experiments.arms import count_moments, sum_moments
from leadwell.experiments.frequentist import proportions_z_test, welch_t_test
from leadwell.experiments.sequential import always_valid_p_values, log_likelihood_ratio, look_statistics
from leadwell.experiments.stats import plan_sample_size

Array = npt.NDArray[np.float64]
LOOKS = 30  # one look a day for a month
ALPHA = 0.05
SIMULATIONS = 1000
# 1,000 A/A experiments at a true 5 % rate: 0.065 is three binomial standard errors (0.0069) above.
FALSE_POSITIVE_CEILING = 0.065


def _cumulative_counts(
    rng: np.random.Generator, rate: float, per_day: int, simulations: int
) -> tuple[Array, Array]:
    """Units and conversions after each day, one row per simulated experiment."""
    conversions = rng.binomial(per_day, rate, size=(simulations, LOOKS)).cumsum(axis=1).astype(np.float64)
    units = np.broadcast_to(per_day * np.arange(1, LOOKS + 1, dtype=np.float64), conversions.shape)
    return units, conversions


def _sequential_counts(units: Array, control: Array, variant: Array, planned_units: int) -> Array:
    """Always-valid p-values after each look, one row per experiment."""
    mean1, variance1 = count_moments(units, control)
    mean2, variance2 = count_moments(units, variant)
    statistics = look_statistics(
        units, mean1, variance1, units, mean2, variance2, alpha=ALPHA, planned_units=planned_units
    )
    return always_valid_p_values(log_likelihood_ratio(*statistics))


@pytest.mark.parametrize("rate", [0.02, 0.10])
def test_daily_peeking_inflates_the_fixed_test_but_not_the_sequential_one(rate: float) -> None:
    rng = np.random.default_rng(2017)
    per_day = 100
    units, control = _cumulative_counts(rng, rate, per_day, SIMULATIONS)
    _, variant = _cumulative_counts(rng, rate, per_day, SIMULATIONS)
    _, fixed = proportions_z_test(units, control, units, variant)
    naive = float((fixed < ALPHA).any(axis=1).mean())  # stopped at the first "significant" day
    at_the_end = float((fixed[:, -1] < ALPHA).mean())  # read once, as the fixed test is meant to be
    sequential = float((_sequential_counts(units, control, variant, per_day * LOOKS)[:, -1] < ALPHA).mean())
    print(
        f"A/A at {rate:.0%}: fixed read daily {naive:.3f}, fixed read once {at_the_end:.3f}, "
        f"sequential {sequential:.3f}"
    )
    assert sequential <= FALSE_POSITIVE_CEILING
    assert naive >= 0.15
    assert 0.03 <= at_the_end <= FALSE_POSITIVE_CEILING


def _cumulative_revenue(rng: np.random.Generator, per_day: int) -> tuple[Array, Array, Array]:
    """Units, revenue and revenue squared after each day: 10 % of units buy, amounts log-normal
    (median about 20, a long tail), the rest earn nothing."""
    shape = (SIMULATIONS, LOOKS, per_day)
    values = rng.lognormal(3.0, 1.0, size=shape) * (rng.random(shape) < 0.10)
    totals = values.sum(axis=2).cumsum(axis=1)
    squares = (values**2).sum(axis=2).cumsum(axis=1)
    units = np.broadcast_to(per_day * np.arange(1, LOOKS + 1, dtype=np.float64), totals.shape)
    return units, totals, squares


def test_revenue_peeking_keeps_the_sequential_test_valid() -> None:
    rng = np.random.default_rng(2018)
    per_day = 100
    units, totals1, squares1 = _cumulative_revenue(rng, per_day)
    _, totals2, squares2 = _cumulative_revenue(rng, per_day)
    mean1, variance1 = sum_moments(units, totals1, squares1)
    mean2, variance2 = sum_moments(units, totals2, squares2)
    _, _, fixed = welch_t_test(units, mean1, variance1, units, mean2, variance2)
    naive = float((fixed < ALPHA).any(axis=1).mean())
    statistics = look_statistics(
        units, mean1, variance1, units, mean2, variance2, alpha=ALPHA, planned_units=per_day * LOOKS
    )
    sequential_p = always_valid_p_values(log_likelihood_ratio(*statistics))
    sequential = float((sequential_p[:, -1] < ALPHA).mean())
    print(f"A/A revenue: Welch read daily {naive:.3f}, sequential {sequential:.3f}")
    assert sequential <= FALSE_POSITIVE_CEILING
    assert naive >= 0.15


def test_the_planned_size_gives_the_planned_power() -> None:
    # 10 % baseline, +20 % lift: the plan asks 3,841 units per variant for 80 % power.
    rng = np.random.default_rng(2019)
    baseline, lifted, simulations = 0.10, 0.12, 2000
    units = plan_sample_size(baseline, 0.2)
    assert units == 3841
    control = rng.binomial(units, baseline, size=simulations)
    variant = rng.binomial(units, lifted, size=simulations)
    _, fixed = proportions_z_test(units, control, units, variant)
    power = float((fixed < ALPHA).mean())
    # Two thousand experiments: the binomial standard error of 0.8 is 0.009; 0.05 is over five.
    assert abs(power - 0.8) <= 0.05

    sequential_at_fixed = _sequential_power(rng, baseline, lifted, units, simulations)
    sequential_units = plan_sample_size(baseline, 0.2, sequential=True)
    sequential_at_own = _sequential_power(rng, baseline, lifted, sequential_units, simulations)
    print(
        f"power: fixed at {units:,} {power:.3f}; sequential looked at daily: at {units:,} "
        f"{sequential_at_fixed:.3f}, at its own plan {sequential_units:,} {sequential_at_own:.3f}"
    )
    # Validity under peeking costs power at the fixed size; its own (larger) plan restores it.
    assert sequential_at_fixed < power
    assert sequential_units < 2 * units
    assert 0.8 <= sequential_at_own <= 0.9


def _sequential_power(
    rng: np.random.Generator, baseline: float, lifted: float, planned_units: int, simulations: int
) -> float:
    """Share of experiments the sequential test calls by the end, looked at daily, with
    ``planned_units`` per variant spread over the looks (rounded up to whole units a day)."""
    per_day = math.ceil(planned_units / LOOKS)
    units, control = _cumulative_counts(rng, baseline, per_day, simulations)
    _, variant = _cumulative_counts(rng, lifted, per_day, simulations)
    return float((_sequential_counts(units, control, variant, planned_units)[:, -1] < ALPHA).mean())
