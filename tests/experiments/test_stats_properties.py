"""Properties every input must keep: probabilities in [0, 1], intervals around their estimate,
shares summing to 1, Holm monotone, nothing undefined leaking out as NaN."""

from __future__ import annotations

import json

from hypothesis import assume, given
from hypothesis import strategies as st

from leadwell.experiments.stats import (
    Counts,
    Sums,
    bayesian,
    frequentist,
    holm,
    plan_minimum_effect,
    plan_sample_size,
    sample_ratio,
    sequential,
    thompson_shares,
)


@st.composite
def counts(draw: st.DrawFn, most: int = 5000) -> Counts:
    n = draw(st.integers(min_value=0, max_value=most))
    return Counts(n=n, x=draw(st.integers(min_value=0, max_value=n)))


@st.composite
def sums(draw: st.DrawFn) -> Sums:
    values = draw(st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), max_size=40))
    return Sums(n=len(values), total=sum(values), total_sq=sum(value * value for value in values))


def _within(low: float | None, value: float | None, high: float | None) -> bool:
    if low is None or high is None or value is None:
        return low is None and high is None or value is None
    slack = 1e-9 * max(1.0, abs(value))
    return low - slack <= value <= high + slack


@given(counts(), counts())
def test_frequentist_counts_are_well_formed(control: Counts, variant: Counts) -> None:
    result = frequentist(control, variant)
    assert 0 <= result.p_value <= 1
    assert result.significant == (result.p_value < 0.05)
    assert _within(result.difference_low, result.difference, result.difference_high)
    assert _within(result.relative_low, result.relative, result.relative_high)
    json.dumps(result.as_dict(), allow_nan=False)


@given(sums(), sums())
def test_frequentist_sums_are_well_formed(control: Sums, variant: Sums) -> None:
    result = frequentist(control, variant)
    assert 0 <= result.p_value <= 1
    assert _within(result.difference_low, result.difference, result.difference_high)
    assert _within(result.relative_low, result.relative, result.relative_high)
    json.dumps(result.as_dict(), allow_nan=False)


@given(counts(), counts())
def test_bayesian_counts_are_well_formed(control: Counts, variant: Counts) -> None:
    result = bayesian(control, variant, draws=500)
    assert 0 <= result.chance_to_beat <= 1
    assert result.expected_loss is not None and result.expected_loss_control is not None
    assert result.expected_loss >= 0 and result.expected_loss_control >= 0
    # E[max(D, 0)] − E[max(−D, 0)] = E[D], the difference of the posterior means: checks both sums.
    difference = result.variant_mean - result.control_mean
    assert abs(result.expected_loss_control - result.expected_loss - difference) < 1e-7
    assert result.difference_low is not None and result.difference_high is not None
    assert result.difference_low <= result.difference_high
    json.dumps(result.as_dict(), allow_nan=False)


@given(sums(), sums())
def test_bayesian_sums_are_well_formed(control: Sums, variant: Sums) -> None:
    result = bayesian(control, variant, draws=500)
    assert 0 <= result.chance_to_beat <= 1
    if result.expected_loss is not None and result.expected_loss_control is not None:
        difference = result.variant_mean - result.control_mean
        assert abs(result.expected_loss_control - result.expected_loss - difference) < 1e-6 * max(
            1, abs(difference)
        )
    json.dumps(result.as_dict(), allow_nan=False)


@given(st.lists(st.tuples(counts(500), counts(500)), max_size=8))
def test_sequential_p_values_only_fall(increments: list[tuple[Counts, Counts]]) -> None:
    looks, control, variant = [], Counts(0, 0), Counts(0, 0)
    for more_control, more_variant in increments:  # cumulative looks from daily increments
        control = Counts(control.n + more_control.n, control.x + more_control.x)
        variant = Counts(variant.n + more_variant.n, variant.x + more_variant.x)
        looks.append((control, variant))
    result = sequential(looks)
    assert all(0 <= value <= 1 for value in result.p_values)
    assert list(result.p_values) == sorted(result.p_values, reverse=True)
    if result.difference_low is not None and result.difference_high is not None:
        assert result.difference_low <= result.difference_high
    json.dumps(result.as_dict(), allow_nan=False)


@given(st.lists(st.floats(min_value=0, max_value=1), max_size=12))
def test_holm_is_monotone_and_capped(p_values: list[float]) -> None:
    adjusted = holm(p_values)
    assert len(adjusted) == len(p_values)
    assert all(raw <= value <= 1 for raw, value in zip(p_values, adjusted, strict=True))
    order = sorted(range(len(p_values)), key=lambda index: p_values[index])
    ordered = [adjusted[index] for index in order]
    assert ordered == sorted(ordered)


@given(
    st.lists(st.tuples(counts(3000), st.floats(min_value=0, max_value=1)), min_size=1, max_size=6), st.data()
)
def test_thompson_shares_sum_to_one_above_the_floor(
    arms: list[tuple[Counts, float]], data: st.DataObject
) -> None:
    floor = data.draw(st.floats(min_value=0, max_value=1 / len(arms)))
    shares = thompson_shares([arm for arm, _ in arms], draws=500, floor=floor)
    assert abs(sum(shares) - 1) < 1e-9
    assert all(share >= floor - 1e-12 for share in shares)


@given(st.lists(st.integers(min_value=0, max_value=100_000), min_size=2, max_size=6), st.data())
def test_sample_ratio_is_well_formed(observed: list[int], data: st.DataObject) -> None:
    weights = data.draw(
        st.lists(st.floats(min_value=0.01, max_value=10), min_size=len(observed), max_size=len(observed))
    )
    result = sample_ratio(observed, weights)
    assert 0 <= result.p_value <= 1
    assert abs(sum(result.expected) - sum(observed)) < 1e-6 * max(1, sum(observed))
    assert result.mismatch == (result.p_value < 0.001)


@given(st.floats(min_value=0.005, max_value=0.6), st.floats(min_value=0.02, max_value=0.6))
def test_plans_invert_each_other(baseline: float, effect: float) -> None:
    assume(baseline * (1 + 1.5 * effect) < 0.99)
    units = plan_sample_size(baseline, effect)
    detectable = plan_minimum_effect(baseline, units)
    assert detectable <= effect + 1e-9
    assert plan_sample_size(baseline, effect * 1.5) <= units
    if units > 1:
        assert plan_minimum_effect(baseline, units - 1) > effect - 1e-9


@given(st.lists(st.tuples(sums(), sums()), max_size=6))
def test_sequential_revenue_is_well_formed(increments: list[tuple[Sums, Sums]]) -> None:
    looks, control, variant = [], Sums(0, 0.0, 0.0), Sums(0, 0.0, 0.0)
    for more_control, more_variant in increments:
        control = Sums(
            control.n + more_control.n,
            control.total + more_control.total,
            control.total_sq + more_control.total_sq,
        )
        variant = Sums(
            variant.n + more_variant.n,
            variant.total + more_variant.total,
            variant.total_sq + more_variant.total_sq,
        )
        looks.append((control, variant))
    result = sequential(looks)
    assert list(result.p_values) == sorted(result.p_values, reverse=True)
    assert all(0 <= value <= 1 for value in result.p_values)
    json.dumps(result.as_dict(), allow_nan=False)
