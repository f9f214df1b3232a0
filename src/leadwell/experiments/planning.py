"""How many units an experiment needs, and what it can detect with the units it has.

Two proportions, two-sided z approximation: with the control at rate p₁, the variant at p₂,
d = |p₂ − p₁|, σ₀ = sqrt(2 p̄ (1 − p̄)) where p̄ = (p₁ + p₂)/2 (the pooled spread the test uses under
"no difference") and σ₁ = sqrt(p₁(1 − p₁) + p₂(1 − p₂)) (the spread when the lift is real), the
test's power with n units per variant is

    Φ((d√n − c·σ₀) / σ₁) + Φ((−d√n − c·σ₀) / σ₁)

where c is the critical value: z at 1 − α/2 for the fixed-horizon test. With more than two variants
each comparison with the control runs at α ÷ (variants − 1) (Bonferroni), so that the whole
experiment keeps its false-positive rate. The sample size is the smallest n reaching the power
asked for; the minimum effect the smallest relative lift the units reach it for (found by root
finding).

For the sequential test c is the value |z| must pass at the planned size for the mixture SPRT tuned
to that size (about 3.04 at α = 0.05 rather than 1.96). That ignores the chance of stopping earlier,
so the size is on the safe side: in simulations with daily looks the power there is about 0.84
against 0.8 asked.
"""

from __future__ import annotations

import math

from scipy.optimize import brentq
from scipy.stats import norm

from leadwell.errors import InvalidInput
from leadwell.experiments.arms import check_alpha
from leadwell.experiments.sequential import boundary_ratio

# Rates this close to 1 stand for "everyone converts", the end of the lifts worth searching.
_HIGHEST_RATE = 1 - 1e-9


def comparison_alpha(alpha: float, variants: int) -> float:
    """The level of each comparison with the control: Bonferroni over ``variants − 1`` comparisons."""
    return alpha / (variants - 1) if variants > 2 else alpha


def critical_value(alpha: float, *, sequential: bool = False) -> float:
    """The |z| a two-sided test must pass at the planned size: the normal quantile, or for the
    mixture SPRT tuned to that size sqrt(2 (1 + 1/r) (ln(1/α) + ½ ln(1 + r)))."""
    if not sequential:
        return float(norm.ppf(1 - alpha / 2))
    ratio = boundary_ratio(alpha)
    return math.sqrt(2 * (1 + 1 / ratio) * (math.log(1 / alpha) + 0.5 * math.log1p(ratio)))


def detection_power(control_rate: float, variant_rate: float, units: float, critical: float) -> float:
    """The chance the two-sided test with critical value ``critical`` finds the difference between
    two rates with ``units`` per variant (both tails counted)."""
    difference = abs(variant_rate - control_rate)
    mean = (control_rate + variant_rate) / 2
    null_spread = math.sqrt(2 * mean * (1 - mean))
    spread = math.sqrt(control_rate * (1 - control_rate) + variant_rate * (1 - variant_rate))
    if spread == 0:
        return 1.0 if difference > 0 else 0.0
    shift = difference * math.sqrt(units)
    return float(
        norm.cdf((shift - critical * null_spread) / spread)
        + norm.cdf((-shift - critical * null_spread) / spread)
    )


def _check_plan(baseline: float, alpha: float, power: float, variants: int) -> None:
    if not 0 < baseline < 1:
        raise InvalidInput(
            f"a baseline rate lies strictly between 0 and 1 (got {baseline})", field="baseline"
        )
    check_alpha(alpha)
    check_alpha(power, field="power")
    if power <= alpha:
        raise InvalidInput(f"power must exceed alpha ({alpha}) to mean anything (got {power})", field="power")
    if variants < 2:
        raise InvalidInput(f"an experiment has at least 2 variants (got {variants})", field="variants")


def plan_sample_size(
    baseline: float,
    minimum_effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    variants: int = 2,
    relative: bool = True,
    sequential: bool = False,
) -> int:
    """Units per variant needed to detect ``minimum_effect`` over a ``baseline`` rate: a relative
    lift (0.2 = +20 %) or, with ``relative=False``, an absolute one in rate points (0.02)."""
    _check_plan(baseline, alpha, power, variants)
    if minimum_effect <= 0:
        raise InvalidInput(
            f"the effect to detect must be positive (got {minimum_effect})", field="minimum_effect"
        )
    target = baseline * (1 + minimum_effect) if relative else baseline + minimum_effect
    if target >= 1:
        raise InvalidInput(
            f"a lift of {minimum_effect} over {baseline} would reach a rate of 1 or more",
            field="minimum_effect",
        )
    critical = critical_value(comparison_alpha(alpha, variants), sequential=sequential)
    mean = (baseline + target) / 2
    null_spread = math.sqrt(2 * mean * (1 - mean))
    spread = math.sqrt(baseline * (1 - baseline) + target * (1 - target))
    # One tail in closed form, then the exact smallest integer with both tails counted.
    estimate = ((critical * null_spread + float(norm.ppf(power)) * spread) / (target - baseline)) ** 2
    units = max(1, math.ceil(estimate))
    while units > 1 and detection_power(baseline, target, units - 1, critical) >= power:
        units -= 1
    while detection_power(baseline, target, units, critical) < power:
        units += 1
    return units


def plan_minimum_effect(
    baseline: float,
    units_per_variant: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    variants: int = 2,
    sequential: bool = False,
) -> float:
    """The smallest relative lift over ``baseline`` detected with the given power by
    ``units_per_variant`` units per variant; ``math.inf`` when no lift up to a rate of 1 would be."""
    _check_plan(baseline, alpha, power, variants)
    if units_per_variant < 0:
        raise InvalidInput(f"units cannot be negative (got {units_per_variant})", field="units_per_variant")
    critical = critical_value(comparison_alpha(alpha, variants), sequential=sequential)
    highest = _HIGHEST_RATE / baseline - 1

    def shortfall(lift: float) -> float:
        return detection_power(baseline, baseline * (1 + lift), units_per_variant, critical) - power

    if units_per_variant == 0 or shortfall(highest) < 0:
        return math.inf
    return float(brentq(shortfall, 0.0, highest, xtol=1e-12, rtol=1e-10))
