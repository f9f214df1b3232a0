"""A sequential test that stays valid however often it is looked at: the mixture sequential
probability ratio test (mSPRT) of Johari, Koomen, Pekelis and Walsh, "Peeking at A/B tests" (2017).

At each look the difference of the arms' means (rates for conversions) θ̂ has the estimated variance
V = σ₁²/n₁ + σ₂²/n₂. Mixing the likelihood ratio of "difference θ" against "no difference" over a
normal prior θ ~ N(0, τ²) gives

    Λ = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²)))

which, under no difference, is a martingale: the chance it ever reaches 1/α is at most α. Hence the
always-valid p-value min over looks of min(1, 1/Λ), which never increases, and the confidence
sequence: the differences θ for which Λ (with θ̂ − θ in place of θ̂) stays below 1/α, intersected
over looks.

τ² sets which effects the test is quickest to find. It is tied to the data's own scale:
τ² = r · (σ₁² + σ₂²) / N, the variance the difference would have at the planned N units per
variant times r, where r solves r = 2·ln(1/α) + ln(1 + r) (about 8.2 at α = 0.05): the choice that
makes the boundary tightest exactly at N units. Tests planned for N therefore lose the least power
there; the per-look σ² make the test scale-free (Λ depends only on the z-statistic and n ÷ N).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leadwell.errors import InvalidInput
from leadwell.experiments.arms import (
    Arm,
    ArrayLike,
    Counts,
    FloatArray,
    JsonReady,
    Sums,
    check_alpha,
    check_pair,
    count_moments,
    sum_moments,
)

# Used when the caller does not say how many units per variant the experiment is sized for.
DEFAULT_PLANNED_UNITS = 1000


@dataclass(frozen=True)
class Sequential(JsonReady):
    """The always-valid view of a variant against the control over every look so far."""

    p_value: float  # always valid: min over looks of min(1, 1/Λ)
    difference: float | None  # variant − control at the last look
    difference_low: float | None  # confidence sequence at the last look
    difference_high: float | None
    conclusive: bool  # p_value < alpha
    alpha: float
    planned_units: int
    mixing_variance: float | None  # τ² at the last look
    p_values: tuple[float, ...]  # after each look, oldest first (non-increasing)


def boundary_ratio(alpha: float) -> float:
    """r with r = 2·ln(1/α) + ln(1 + r): τ² = r·V makes the mixture boundary tightest where the
    difference's variance is V (found by fixed-point iteration, which contracts quickly)."""
    ratio = 2 * math.log(1 / alpha)
    for _ in range(50):
        ratio = 2 * math.log(1 / alpha) + math.log1p(ratio)
    return ratio


def look_statistics(
    n_control: ArrayLike,
    mean_control: ArrayLike,
    variance_control: ArrayLike,
    n_variant: ArrayLike,
    mean_variant: ArrayLike,
    variance_variant: ArrayLike,
    *,
    alpha: float,
    planned_units: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(θ̂, V, τ²)`` at each look, element-wise over arrays; V is 0 where a look says nothing
    (an arm below two units, or no variation yet)."""
    n1 = np.asarray(n_control, dtype=np.float64)
    n2 = np.asarray(n_variant, dtype=np.float64)
    var1 = np.asarray(variance_control, dtype=np.float64)
    var2 = np.asarray(variance_variant, dtype=np.float64)
    enough = (n1 >= 2) & (n2 >= 2)
    variance = np.where(enough, var1 / np.where(enough, n1, 1.0) + var2 / np.where(enough, n2, 1.0), 0.0)
    mixing = boundary_ratio(alpha) * (var1 + var2) / planned_units
    difference = np.asarray(mean_variant, dtype=np.float64) - np.asarray(mean_control, dtype=np.float64)
    return difference, variance, mixing


def log_likelihood_ratio(difference: ArrayLike, variance: ArrayLike, mixing: ArrayLike) -> FloatArray:
    """ln Λ of the normal-mixture SPRT; 0 (no evidence) where V or τ² is 0.

    Written with z² = θ̂²/V and ρ = τ²/V, ln Λ = −½ ln(1 + ρ) + ½ z² ρ/(1 + ρ), so that variances
    near the smallest floats cannot underflow to 0/0; an overflowing z² is infinite evidence."""
    theta = np.asarray(difference, dtype=np.float64)
    v = np.asarray(variance, dtype=np.float64)
    tau2 = np.asarray(mixing, dtype=np.float64)
    defined = (v > 0) & (tau2 > 0)
    v_safe = np.where(defined, v, 1.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        z2 = theta * theta / v_safe
        rho = np.where(defined, tau2, 1.0) / v_safe
        value = -0.5 * np.log1p(rho) + 0.5 * z2 * (rho / (1 + rho))
    return np.where(defined & ~np.isnan(value), value, 0.0)


def always_valid_p_values(log_ratios: ArrayLike) -> FloatArray:
    """Running minimum over the last axis (the looks) of min(1, 1/Λ)."""
    per_look = np.minimum(1.0, np.exp(-np.maximum(np.asarray(log_ratios, dtype=np.float64), 0.0)))
    return np.minimum.accumulate(per_look, axis=-1)


def half_width(variance: ArrayLike, mixing: ArrayLike, alpha: float) -> FloatArray:
    """Half-width of the differences not rejected at one look; NaN where the look says nothing.

    From Λ(θ) < 1/α: (θ̂ − θ)² < 2V(1 + 1/ρ) · (ln(1/α) + ½ ln(1 + ρ)) with ρ = τ²/V."""
    v = np.asarray(variance, dtype=np.float64)
    tau2 = np.asarray(mixing, dtype=np.float64)
    defined = (v > 0) & (tau2 > 0)
    v_safe = np.where(defined, v, 1.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        rho = np.where(defined, tau2, 1.0) / v_safe
        squared = 2 * v_safe * (1 + 1 / rho) * (math.log(1 / alpha) + 0.5 * np.log1p(rho))
        width = np.sqrt(squared)
    return np.where(defined & np.isfinite(width), width, np.nan)


def sequential(
    looks: Sequence[tuple[Arm, Arm]], alpha: float = 0.05, *, planned_units: int | None = None
) -> Sequential:
    """Always-valid test over the cumulative ``(control, variant)`` at each look, oldest first.

    ``planned_units`` is the number of units per variant the experiment is sized for (the planner's
    answer); it only tunes where the test is most powerful, never its validity."""
    check_alpha(alpha)
    planned = DEFAULT_PLANNED_UNITS if planned_units is None else planned_units
    if planned < 2:
        raise InvalidInput(f"at least 2 planned units per variant (got {planned})", field="planned_units")
    _check_looks(looks)
    if not looks:
        return Sequential(1.0, None, None, None, False, alpha, planned, None, ())
    columns = [_moments_of_looks([look[side] for look in looks]) for side in (0, 1)]
    (n1, mean1, var1), (n2, mean2, var2) = columns
    difference, variance, mixing = look_statistics(
        n1, mean1, var1, n2, mean2, var2, alpha=alpha, planned_units=planned
    )
    p_values = always_valid_p_values(log_likelihood_ratio(difference, variance, mixing))
    low, high = _confidence_sequence(difference, half_width(variance, mixing, alpha))
    p_value = float(p_values[-1])
    return Sequential(
        p_value=p_value,
        difference=float(difference[-1]) if n1[-1] > 0 and n2[-1] > 0 else None,
        difference_low=low,
        difference_high=high,
        conclusive=p_value < alpha,
        alpha=alpha,
        planned_units=planned,
        mixing_variance=float(mixing[-1]) if mixing[-1] > 0 else None,
        p_values=tuple(float(value) for value in p_values),
    )


def _check_looks(looks: Sequence[tuple[Arm, Arm]]) -> None:
    """Every look pairs arms of one kind, the first look's kind, and units never go down."""
    for index, (control, variant) in enumerate(looks):
        check_pair(control, variant)
        if type(control) is not type(looks[0][0]):
            raise InvalidInput("every look must be of the first look's kind", field=f"looks[{index}]")
        if index and (control.n < looks[index - 1][0].n or variant.n < looks[index - 1][1].n):
            raise InvalidInput("looks are cumulative: units cannot go down", field=f"looks[{index}]")


def _moments_of_looks(arms: list[Arm]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Units, means and per-unit variances of one side across the looks."""
    n = np.array([arm.n for arm in arms], dtype=np.float64)
    if isinstance(arms[0], Counts):
        mean, variance = count_moments(n, [arm.x for arm in arms if isinstance(arm, Counts)])
    else:
        sums = [arm for arm in arms if isinstance(arm, Sums)]
        mean, variance = sum_moments(n, [arm.total for arm in sums], [arm.total_sq for arm in sums])
    return n, mean, variance


def _confidence_sequence(difference: FloatArray, widths: FloatArray) -> tuple[float | None, float | None]:
    """The running intersection of each look's interval. Should estimated variances make the
    intersection empty, the last informative look's own interval stands."""
    informative = np.isfinite(widths)
    if not informative.any():
        return None, None
    lows, highs = (difference - widths)[informative], (difference + widths)[informative]
    low, high = float(lows.max()), float(highs.min())
    if low > high:
        return float(lows[-1]), float(highs[-1])
    return low, high
