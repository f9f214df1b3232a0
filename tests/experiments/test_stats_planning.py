"""Sample sizes, detectable effects, the split check and Holm's correction against independent values."""

from __future__ import annotations

import json
import math

import pytest
from scipy.stats import chisquare
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import zt_ind_solve_power
from statsmodels.stats.proportion import power_proportions_2indep

from leadwell.errors import InvalidInput
from leadwell.experiments.planning import critical_value
from leadwell.experiments.stats import holm, plan_minimum_effect, plan_sample_size, sample_ratio


def _power(baseline: float, target: float, units: int, alpha: float) -> float:
    result = power_proportions_2indep(
        target - baseline, baseline, units, alpha=alpha, alternative="two-sided", return_results=False
    )
    return float(result)


def test_sample_size_worked_by_hand() -> None:
    # Baseline 10 %, +20 % → 12 %. p̄ = 0.11; σ₀ = sqrt(2 × 0.11 × 0.89) = 0.442493;
    # σ₁ = sqrt(0.1 × 0.9 + 0.12 × 0.88) = sqrt(0.1956) = 0.442267; z 1.959964 and 0.841621:
    # n = ((1.959964 × 0.442493 + 0.841621 × 0.442267) / 0.02)² = (1.239492 / 0.02)² = 3840.85 → 3,841.
    assert plan_sample_size(0.10, 0.20) == 3841
    assert plan_sample_size(0.10, 0.02, relative=False) == 3841


@pytest.mark.parametrize(
    ("baseline", "effect", "alpha", "power"),
    [(0.10, 0.20, 0.05, 0.8), (0.03, 0.15, 0.05, 0.8), (0.40, 0.05, 0.01, 0.9), (0.5, 0.1, 0.1, 0.7)],
)
def test_sample_size_is_the_smallest_reaching_the_power(
    baseline: float, effect: float, alpha: float, power: float
) -> None:
    units = plan_sample_size(baseline, effect, alpha=alpha, power=power)
    target = baseline * (1 + effect)
    assert _power(baseline, target, units, alpha) >= power
    assert _power(baseline, target, units - 1, alpha) < power
    # Close to the textbook formula with one spread for both hypotheses (statsmodels' solver).
    spread = math.sqrt((baseline * (1 - baseline) + target * (1 - target)) / 2)
    textbook = zt_ind_solve_power(effect_size=(target - baseline) / spread, alpha=alpha, power=power)
    assert units == pytest.approx(textbook, rel=0.02)


def test_more_variants_split_alpha_bonferroni() -> None:
    assert plan_sample_size(0.1, 0.2, variants=3) == plan_sample_size(0.1, 0.2, alpha=0.025)
    assert plan_sample_size(0.1, 0.2, variants=5) == plan_sample_size(0.1, 0.2, alpha=0.0125)
    assert plan_sample_size(0.1, 0.2, variants=3) > plan_sample_size(0.1, 0.2)


def test_minimum_effect_inverts_the_sample_size() -> None:
    effect = plan_minimum_effect(0.10, 3841)
    assert effect == pytest.approx(0.2, abs=0.001) and effect <= 0.2
    assert _power(0.10, 0.10 * (1 + effect), 3841, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert plan_minimum_effect(0.10, 20000) < effect < plan_minimum_effect(0.10, 1000)
    assert plan_minimum_effect(0.1, 3841, variants=3) == pytest.approx(
        plan_minimum_effect(0.1, 3841, alpha=0.025)
    )


def test_too_few_units_detect_nothing() -> None:
    assert plan_minimum_effect(0.5, 3) == math.inf
    assert plan_minimum_effect(0.1, 0) == math.inf


def test_sequential_plan_uses_the_mixture_boundary() -> None:
    # At α = 0.05 the mixture SPRT tuned to the planned size rejects there when |z| > 3.0351.
    assert critical_value(0.05, sequential=True) == pytest.approx(3.035122, abs=1e-6)
    fixed, sequential = plan_sample_size(0.1, 0.2), plan_sample_size(0.1, 0.2, sequential=True)
    assert 1.8 < sequential / fixed < 2.0
    assert plan_minimum_effect(0.1, sequential, sequential=True) == pytest.approx(0.2, abs=0.001)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"baseline": 0.0, "minimum_effect": 0.2}, "baseline"),
        ({"baseline": 1.2, "minimum_effect": 0.2}, "baseline"),
        ({"baseline": 0.1, "minimum_effect": 0.0}, "minimum_effect"),
        ({"baseline": 0.6, "minimum_effect": 0.8}, "minimum_effect"),
        ({"baseline": 0.1, "minimum_effect": 0.2, "alpha": 0.0}, "alpha"),
        ({"baseline": 0.1, "minimum_effect": 0.2, "power": 1.0}, "power"),
        ({"baseline": 0.1, "minimum_effect": 0.2, "power": 0.04}, "power"),
        ({"baseline": 0.1, "minimum_effect": 0.2, "variants": 1}, "variants"),
    ],
)
def test_bad_plans_are_refused(arguments: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        plan_sample_size(**arguments)  # type: ignore[arg-type]
    assert error.value.field == field


def test_negative_units_are_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        plan_minimum_effect(0.1, -5)
    assert error.value.field == "units_per_variant"


@pytest.mark.parametrize(
    ("observed", "weights"),
    [
        ([5000, 5100], [1, 1]),
        ([5000, 5300], [1, 1]),
        ([1200, 2500, 1240], [1, 2, 1]),
        ([90, 310], [0.2, 0.8]),
    ],
)
def test_sample_ratio_matches_scipy_chisquare(observed: list[int], weights: list[float]) -> None:
    result = sample_ratio(observed, weights)
    expected = [sum(observed) * weight / sum(weights) for weight in weights]
    assert list(result.expected) == pytest.approx(expected)
    statistic, p_value = chisquare(observed, f_exp=expected)
    assert result.statistic == pytest.approx(statistic)
    assert result.p_value == pytest.approx(p_value)
    assert result.mismatch == (p_value < 0.001)


def test_sample_ratio_flags_only_below_one_in_a_thousand() -> None:
    # 5,000 vs 5,300 on an even split: χ² = 2 × 150²/5150 = 8.7379, p = 0.00312: not flagged.
    assert not sample_ratio([5000, 5300], [1, 1]).mismatch
    # 5,000 vs 5,400: χ² = 2 × 200²/5200 = 15.3846, p = 0.0000876: flagged.
    assert sample_ratio([5000, 5400], [1, 1]).mismatch


def test_sample_ratio_edge_cases() -> None:
    assert sample_ratio([0, 0], [1, 1]).p_value == 1.0
    leaked = sample_ratio([100, 3, 97], [1, 0, 1])  # a switched-off variant still got units
    assert leaked.mismatch and leaked.p_value == 0.0 and leaked.statistic is None
    off = sample_ratio([100, 0, 97], [1, 0, 1])  # a weight-0 variant is left out of the test
    assert off.p_value == pytest.approx(chisquare([100, 97]).pvalue)
    assert off.as_dict()["expected"] == [98.5, 0.0, 98.5]
    json.dumps(leaked.as_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("observed", "weights", "field"),
    [
        ([1, 2], [1], "weights"),
        ([1, -2], [1, 1], "observed[1]"),
        ([1, 2], [1, -1], "weights[1]"),
        ([1, 2], [0, 0], "weights"),
    ],
)
def test_bad_sample_ratio_input_is_refused(observed: list[int], weights: list[float], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        sample_ratio(observed, weights)
    assert error.value.field == field


@pytest.mark.parametrize(
    "p_values",
    [[0.01, 0.04, 0.03], [0.2], [0.001, 0.5, 0.02, 0.04, 0.049], [0.03, 0.03, 0.5], [0.9, 0.8, 0.95]],
)
def test_holm_matches_statsmodels(p_values: list[float]) -> None:
    _, adjusted, _, _ = multipletests(p_values, method="holm")
    assert holm(p_values) == pytest.approx(list(adjusted))


def test_holm_worked_by_hand() -> None:
    # Sorted 0.01, 0.03, 0.04 times 3, 2, 1: 0.03, 0.06, 0.04 → running maximum 0.03, 0.06, 0.06.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([]) == []
    with pytest.raises(InvalidInput) as error:
        holm([0.2, 1.5])
    assert error.value.field == "p_values[1]"
