"""The mixture SPRT: one look worked by hand, the boundary's meaning, and its behaviour over looks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from leadwell.errors import InvalidInput
from leadwell.experiments.arms import Counts, Sums, count_moments
from leadwell.experiments.sequential import (
    DEFAULT_PLANNED_UNITS,
    always_valid_p_values,
    boundary_ratio,
    log_likelihood_ratio,
    look_statistics,
)
from leadwell.experiments.stats import sequential


def test_boundary_ratio_solves_its_equation() -> None:
    ratio = boundary_ratio(0.05)
    assert ratio == pytest.approx(2 * math.log(20) + math.log(1 + ratio), abs=1e-12)
    assert ratio == pytest.approx(8.211968, abs=1e-6)


def test_one_look_worked_by_hand() -> None:
    # Control 100 of 1,000 (0.10), variant 130 of 1,000 (0.13): θ̂ = 0.03.
    # V = 0.1 × 0.9/1000 + 0.13 × 0.87/1000 = 0.0002031.
    # τ² = r × (0.09 + 0.1131)/1000 with r = 8.211968 (α 0.05, planned 1,000): 0.00166785.
    # Λ = sqrt(V/(V + τ²)) × exp(τ² θ̂² / (2V(V + τ²)))
    #   = sqrt(0.0002031/0.00187095) × exp(1.50107e-6 / 7.59980e-7) = 0.329475 × exp(1.975150) = 2.37478.
    # p = 1/Λ = 0.421091.
    result = sequential([(Counts(1000, 100), Counts(1000, 130))], planned_units=1000)
    assert result.mixing_variance == pytest.approx(0.00166785, rel=1e-5)
    assert result.p_value == pytest.approx(0.421091, abs=1e-5)
    assert result.difference == pytest.approx(0.03)
    assert not result.conclusive


def test_interval_ends_are_where_the_ratio_reaches_one_over_alpha() -> None:
    looks = [(Counts(2000, 200), Counts(2000, 262))]
    result = sequential(looks, planned_units=2000)
    assert result.difference_low is not None and result.difference_high is not None
    difference, variance, mixing = look_statistics(
        2000, 0.1, 0.09, 2000, 0.131, 0.131 * 0.869, alpha=0.05, planned_units=2000
    )
    for end in (result.difference_low, result.difference_high):
        shifted = log_likelihood_ratio(difference - end, variance, mixing)
        assert float(shifted) == pytest.approx(math.log(20), abs=1e-9)
    # The sequential interval is wider than the fixed-horizon one (1.96 standard errors).
    assert result.difference_high - result.difference_low > 2 * 1.96 * math.sqrt(float(variance))


def test_p_values_never_increase_and_the_interval_only_shrinks() -> None:
    rng = np.random.default_rng(2)
    control = rng.binomial(1, 0.10, size=6000)
    variant = rng.binomial(1, 0.13, size=6000)
    looks = [
        (Counts(n, int(control[:n].sum())), Counts(n, int(variant[:n].sum()))) for n in range(200, 6001, 200)
    ]
    result = sequential(looks, planned_units=4000)
    assert len(result.p_values) == len(looks)
    assert all(later <= earlier for earlier, later in zip(result.p_values, result.p_values[1:], strict=False))
    assert result.p_value == result.p_values[-1]
    earlier = sequential(looks[:10], planned_units=4000)
    assert earlier.difference_low is not None and result.difference_low is not None
    assert earlier.difference_high is not None and result.difference_high is not None
    assert result.difference_low >= earlier.difference_low
    assert result.difference_high <= earlier.difference_high
    # Consistent: conclusive exactly when 0 lies outside the confidence sequence.
    assert result.conclusive == (not result.difference_low <= 0 <= result.difference_high)


def test_a_clear_difference_becomes_conclusive() -> None:
    looks = [(Counts(n, n // 10), Counts(n, n // 5)) for n in (500, 1000, 1500, 2000)]
    result = sequential(looks, planned_units=2000)
    assert result.conclusive and result.p_value < 1e-6
    assert result.difference_low is not None and result.difference_low > 0


def test_revenue_looks() -> None:
    rng = np.random.default_rng(8)
    control = rng.lognormal(3, 1, size=3000) * (rng.random(3000) < 0.1)
    variant = rng.lognormal(3, 1, size=3000) * (rng.random(3000) < 0.1)

    def arm(values: np.ndarray) -> Sums:
        return Sums(len(values), float(values.sum()), float((values**2).sum()))

    looks = [(arm(control[:n]), arm(variant[:n])) for n in range(100, 3001, 100)]
    result = sequential(looks, planned_units=3000)
    assert 0 < result.p_value <= 1
    difference = variant.mean() - control.mean()
    assert result.difference == pytest.approx(difference)
    assert result.difference_low is not None and result.difference_high is not None
    assert result.difference_low < difference < result.difference_high


def test_looks_without_information_count_as_no_evidence() -> None:
    looks = [
        (Counts(0, 0), Counts(0, 0)),
        (Counts(1, 0), Counts(1, 1)),  # one unit per arm: no spread to estimate
        (Counts(50, 0), Counts(50, 0)),  # nobody converted: no variance
    ]
    result = sequential(looks)
    assert result.p_values == (1.0, 1.0, 1.0)
    assert result.difference_low is None and result.mixing_variance is None
    assert result.planned_units == DEFAULT_PLANNED_UNITS
    json.dumps(result.as_dict(), allow_nan=False)
    empty = sequential([])
    assert (empty.p_value, empty.conclusive, empty.p_values) == (1.0, False, ())


def test_array_helpers_give_the_scalar_answer() -> None:
    # The simulations call the array helpers on many experiments at once; they must agree with
    # the function called on one experiment's looks.
    n = np.array([[100, 200, 300], [100, 200, 300]])
    x1 = np.array([[10, 22, 31], [12, 20, 35]])
    x2 = np.array([[14, 30, 49], [9, 21, 30]])
    mean1, var1 = count_moments(n, x1)
    mean2, var2 = count_moments(n, x2)
    statistics = look_statistics(n, mean1, var1, n, mean2, var2, alpha=0.05, planned_units=300)
    p_values = always_valid_p_values(log_likelihood_ratio(*statistics))
    for row in range(2):
        looks = [
            (Counts(int(n[row, i]), int(x1[row, i])), Counts(int(n[row, i]), int(x2[row, i])))
            for i in range(3)
        ]
        assert sequential(looks, planned_units=300).p_values == pytest.approx(tuple(p_values[row]))


def test_bad_looks_are_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        sequential([(Counts(10, 1), Counts(10, 2)), (Sums(20, 1.0, 1.0), Sums(20, 1.0, 1.0))])
    assert error.value.field == "looks[1]"
    with pytest.raises(InvalidInput) as error:
        sequential([(Counts(10, 1), Counts(10, 2)), (Counts(9, 1), Counts(12, 2))])
    assert error.value.field == "looks[1]"
    with pytest.raises(InvalidInput) as error:
        sequential([(Counts(10, 1), Counts(10, 2))], planned_units=1)
    assert error.value.field == "planned_units"
    with pytest.raises(InvalidInput) as error:
        sequential([(Counts(10, 1), Sums(10, 2.0, 4.0))])
    assert error.value.field == "variant"
