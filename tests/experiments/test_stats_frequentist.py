"""Fixed-horizon tests checked against statsmodels and scipy, and against sums worked by hand."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import ttest_ind as scipy_ttest_ind
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

from leadwell.errors import InvalidInput
from leadwell.experiments.stats import Counts, Sums, frequentist


def test_conversions_worked_by_hand() -> None:
    # Control 40 of 200 (0.20), variant 60 of 200 (0.30): difference 0.10.
    # Pooled rate 100/400 = 0.25; pooled SE = sqrt(0.25 × 0.75 × (1/200 + 1/200)) = 0.0433013;
    # z = 0.10 / 0.0433013 = 2.309401; two-sided p = 2 × (1 − Φ(2.309401)) = 0.020921.
    # Unpooled SE = sqrt(0.2 × 0.8/200 + 0.3 × 0.7/200) = sqrt(0.00185) = 0.0430116;
    # 95 %: 0.10 ± 1.959964 × 0.0430116 = 0.10 ± 0.084301 → [0.015699, 0.184301].
    # Relative: ratio 1.5, Var(log ratio) = 1/40 − 1/200 + 1/60 − 1/200 = 0.0316667, SE 0.177951;
    # log 1.5 = 0.405465 ± 0.348778 → exp → [1.058324, 2.126002] → lift [0.058324, 1.126002].
    result = frequentist(Counts(n=200, x=40), Counts(n=200, x=60))
    assert result.difference == pytest.approx(0.10)
    assert result.statistic == pytest.approx(2.309401, abs=1e-6)
    assert result.p_value == pytest.approx(0.020921, abs=1e-6)
    assert result.difference_low == pytest.approx(0.015699, abs=1e-6)
    assert result.difference_high == pytest.approx(0.184301, abs=1e-6)
    assert result.relative == pytest.approx(0.5)
    assert result.relative_low == pytest.approx(0.058324, abs=1e-6)
    assert result.relative_high == pytest.approx(1.126002, abs=1e-6)
    assert result.significant and result.degrees_of_freedom is None


@pytest.mark.parametrize(
    ("control", "variant"),
    [((1000, 100), (1000, 130)), ((5000, 48), (4870, 61)), ((300, 150), (320, 140)), ((80, 3), (95, 12))],
)
def test_conversions_match_statsmodels(control: tuple[int, int], variant: tuple[int, int]) -> None:
    (n1, x1), (n2, x2) = control, variant
    result = frequentist(Counts(n=n1, x=x1), Counts(n=n2, x=x2), alpha=0.05)
    z, p = proportions_ztest([x2, x1], [n2, n1])
    assert result.statistic == pytest.approx(z, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    low, high = confint_proportions_2indep(x2, n2, x1, n1, method="wald", compare="diff", alpha=0.05)
    assert (result.difference_low, result.difference_high) == pytest.approx((low, high), rel=1e-9)
    ratio_low, ratio_high = confint_proportions_2indep(x2, n2, x1, n1, method="log", compare="ratio")
    assert result.relative_low == pytest.approx(ratio_low - 1, rel=1e-9)
    assert result.relative_high == pytest.approx(ratio_high - 1, rel=1e-9)


def test_alpha_sets_the_interval_level() -> None:
    result = frequentist(Counts(1000, 100), Counts(1000, 130), alpha=0.1)
    low, high = confint_proportions_2indep(130, 1000, 100, 1000, method="wald", compare="diff", alpha=0.1)
    assert (result.difference_low, result.difference_high) == pytest.approx((low, high))
    assert result.alpha == 0.1


def test_revenue_worked_by_hand() -> None:
    # Control values 1, 2, 3: n 3, total 6, sum of squares 14 → mean 2, variance (14 − 12)/2 = 1.
    # Variant values 2, 4, 6, 8: n 4, total 20, squares 120 → mean 5, variance (120 − 100)/3 = 6.6667.
    # SE = sqrt(1/3 + 6.6667/4) = sqrt(2) = 1.414214; t = 3 / 1.414214 = 2.121320;
    # df = 2² / ((1/3)²/2 + (5/3)²/3) = 4 / 0.981481 = 4.075472.
    # Relative 5/2 − 1 = 1.5; Var ≈ 6.6667/(4 × 2²) + 5² × 1/(3 × 2⁴) = 0.416667 + 0.520833 = 0.9375;
    # 1.5 ± 1.959964 × 0.968246 = 1.5 ± 1.897727 → [−0.397727, 3.397727].
    result = frequentist(Sums(n=3, total=6, total_sq=14), Sums(n=4, total=20, total_sq=120))
    assert (result.control_rate, result.variant_rate, result.difference) == pytest.approx((2, 5, 3))
    assert result.statistic == pytest.approx(2.121320, abs=1e-6)
    assert result.degrees_of_freedom == pytest.approx(4.075472, abs=1e-6)
    assert result.relative == pytest.approx(1.5)
    assert result.relative_low == pytest.approx(-0.397727, abs=1e-6)
    assert result.relative_high == pytest.approx(3.397727, abs=1e-6)
    expected = scipy_ttest_ind([2, 4, 6, 8], [1, 2, 3], equal_var=False)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def _sums(values: np.ndarray) -> Sums:
    return Sums(n=len(values), total=float(values.sum()), total_sq=float((values**2).sum()))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_revenue_matches_statsmodels_welch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    control = rng.lognormal(3, 1, size=400) * (rng.random(400) < 0.2)
    variant = rng.lognormal(3.1, 1, size=380) * (rng.random(380) < 0.22)
    result = frequentist(_sums(control), _sums(variant))
    t, p, df = ttest_ind(variant, control, usevar="unequal")
    assert result.statistic == pytest.approx(t, rel=1e-7)
    assert result.p_value == pytest.approx(p, rel=1e-7)
    assert result.degrees_of_freedom == pytest.approx(df, rel=1e-7)
    compare = CompareMeans(DescrStatsW(variant), DescrStatsW(control))
    low, high = compare.tconfint_diff(alpha=0.05, usevar="unequal")
    assert (result.difference_low, result.difference_high) == pytest.approx((low, high), rel=1e-7)
    assert result.variant_rate == pytest.approx(variant.mean())


@pytest.mark.parametrize(
    ("control", "variant"),
    [(Counts(0, 0), Counts(10, 3)), (Counts(10, 3), Counts(0, 0)), (Counts(0, 0), Counts(0, 0))],
)
def test_an_arm_without_units_gives_no_evidence(control: Counts, variant: Counts) -> None:
    result = frequentist(control, variant)
    assert result.p_value == 1.0 and not result.significant
    assert result.difference_low is None and result.difference_high is None
    assert result.relative_low is None and result.statistic is None
    json.dumps(result.as_dict(), allow_nan=False)


def test_no_conversions_anywhere_and_everyone_converting() -> None:
    nobody = frequentist(Counts(50, 0), Counts(60, 0))
    assert (nobody.p_value, nobody.difference, nobody.relative) == (1.0, 0.0, None)
    assert nobody.difference_low is None and nobody.relative_low is None
    everybody = frequentist(Counts(50, 50), Counts(60, 60))
    assert (everybody.p_value, everybody.relative) == (1.0, 0.0)
    assert everybody.difference_low is None and everybody.relative_low is None


def test_zero_conversions_in_one_arm() -> None:
    # Control 0 of 100: no relative difference exists. Variant 0 of 100: the lift is −100 %, but the
    # log-ratio interval is undefined.
    zero_control = frequentist(Counts(100, 0), Counts(100, 8))
    assert zero_control.relative is None and zero_control.relative_low is None
    assert zero_control.difference_low is not None and zero_control.p_value < 0.01
    zero_variant = frequentist(Counts(100, 8), Counts(100, 0))
    assert zero_variant.relative == pytest.approx(-1.0)
    assert zero_variant.relative_low is None and zero_variant.relative_high is None


def test_revenue_edge_cases_never_leak_nan() -> None:
    one_unit = frequentist(Sums(1, 5.0, 25.0), Sums(10, 50.0, 300.0))
    assert one_unit.p_value == 1.0 and one_unit.difference_low is None and one_unit.statistic is None
    constant = frequentist(Sums(5, 10.0, 20.0), Sums(5, 15.0, 45.0))  # all 2s against all 3s
    assert constant.p_value == 1.0 and constant.difference == pytest.approx(1.0)
    assert constant.difference_low is None and constant.relative_low is None
    nothing_earned = frequentist(Sums(20, 0.0, 0.0), Sums(20, 40.0, 400.0))
    assert nothing_earned.relative is None and nothing_earned.p_value > 0
    for result in (one_unit, constant, nothing_earned):
        json.dumps(result.as_dict(), allow_nan=False)


def test_arms_of_different_kinds_are_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        frequentist(Counts(10, 1), Sums(10, 5.0, 5.0))
    assert error.value.field == "variant"


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_alpha_out_of_range_is_refused(alpha: float) -> None:
    with pytest.raises(InvalidInput) as error:
        frequentist(Counts(10, 1), Counts(10, 2), alpha=alpha)
    assert error.value.field == "alpha"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Counts(-1, 0), "n"),
        (lambda: Counts(5, 6), "x"),
        (lambda: Counts(5, -1), "x"),
        (lambda: Sums(-2, 0.0, 0.0), "n"),
        (lambda: Sums(2, 1.0, -1.0), "total_sq"),
        (lambda: Sums(2, 10.0, 20.0), "total_sq"),  # 10²/2 = 50 > 20: no real values do that
        (lambda: Sums(0, 1.0, 1.0), "total"),
        (lambda: Sums(3, float("nan"), 1.0), "total"),
    ],
)
def test_impossible_arms_are_refused(build: Callable[[], object], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        build()
    assert error.value.field == field
