"""Fixed-horizon tests: a two-proportion z-test for conversions, Welch's t-test for revenue, and
Holm's correction when several variants face one control.

Conversions: the p-value uses the pooled standard error (under "no difference" both arms share one
rate), the interval of the difference the unpooled one (each arm its own rate), and the interval of
the relative difference the delta method on log(variant rate ÷ control rate).

Revenue: Welch's t-test on the per-unit means with Welch–Satterthwaite degrees of freedom; the
relative difference uses the delta method on the ratio itself, since a variant may earn nothing.

Where a number is undefined (an arm without units, an arm of fewer than two units for revenue, no
variation at all) the p-value is 1.0 and the interval ``None``: "no evidence", never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

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
    none_if_nan,
    sum_moments,
)


@dataclass(frozen=True)
class Frequentist(JsonReady):
    """A fixed-horizon comparison of a variant with the control (rates, or means for revenue)."""

    control_rate: float
    variant_rate: float
    difference: float  # variant − control
    difference_low: float | None
    difference_high: float | None
    relative: float | None  # variant ÷ control − 1; None when the control is 0
    relative_low: float | None
    relative_high: float | None
    p_value: float  # two-sided
    significant: bool  # p_value < alpha
    alpha: float
    statistic: float | None  # z for conversions, t for revenue; None when undefined
    degrees_of_freedom: float | None  # Welch–Satterthwaite, revenue only


def proportions_z_test(
    n_control: ArrayLike, x_control: ArrayLike, n_variant: ArrayLike, x_variant: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """``(z, two-sided p)`` of the pooled two-proportion z-test, element-wise over arrays.

    z is 0 and p is 1 wherever the test is undefined: an arm without units, or a pooled rate of
    0 or 1 (nobody or everybody converted, so the arms cannot differ)."""
    n1 = np.asarray(n_control, dtype=np.float64)
    n2 = np.asarray(n_variant, dtype=np.float64)
    p1, _ = count_moments(n1, x_control)
    p2, _ = count_moments(n2, x_variant)
    total = np.where(n1 + n2 > 0, n1 + n2, 1.0)
    pooled = (np.asarray(x_control, dtype=np.float64) + np.asarray(x_variant, dtype=np.float64)) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = np.where((n1 > 0) & (n2 > 0) & (error > 0), (p2 - p1) / error, 0.0)
    return z, 2 * norm.sf(np.abs(z))


def welch_t_test(
    n_control: ArrayLike,
    mean_control: ArrayLike,
    variance_control: ArrayLike,
    n_variant: ArrayLike,
    mean_variant: ArrayLike,
    variance_variant: ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(t, degrees of freedom, two-sided p)`` of Welch's t-test, element-wise over arrays.

    t is 0, the degrees of freedom NaN and p 1 wherever an arm has fewer than two units or neither
    arm varies (the standard error is 0)."""
    n1 = np.asarray(n_control, dtype=np.float64)
    n2 = np.asarray(n_variant, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share1 = np.asarray(variance_control, dtype=np.float64) / n1
        share2 = np.asarray(variance_variant, dtype=np.float64) / n2
        error = np.sqrt(share1 + share2)
        defined = (n1 > 1) & (n2 > 1) & (error > 0)
        difference = np.asarray(mean_variant, dtype=np.float64) - np.asarray(mean_control, dtype=np.float64)
        t = np.where(defined, difference / error, 0.0)
        # Welch–Satterthwaite, written with each arm's share of the variance so that tiny
        # variances cannot underflow to 0/0.
        weight1, weight2 = share1 / (share1 + share2), share2 / (share1 + share2)
        df = np.where(defined, 1 / (weight1**2 / (n1 - 1) + weight2**2 / (n2 - 1)), np.nan)
    p = np.where(defined, 2 * student_t.sf(np.abs(t), np.where(defined, df, 1.0)), 1.0)
    return t, df, p


def frequentist(control: Arm, variant: Arm, alpha: float = 0.05) -> Frequentist:
    """Two-sided fixed-horizon test of the variant against the control, with ``1 − alpha`` intervals
    for the absolute and the relative difference."""
    check_pair(control, variant)
    check_alpha(alpha)
    if isinstance(control, Counts) and isinstance(variant, Counts):
        return _compare_counts(control, variant, alpha)
    assert isinstance(control, Sums) and isinstance(variant, Sums)
    return _compare_sums(control, variant, alpha)


def _interval(centre: float, error: float, quantile: float) -> tuple[float | None, float | None]:
    """``centre ± quantile × error``; ``None`` when the error is undefined or zero (a zero-width
    interval would claim a certainty the data do not give)."""
    if not math.isfinite(error) or error <= 0 or not math.isfinite(quantile):
        return None, None
    return centre - quantile * error, centre + quantile * error


def _compare_counts(control: Counts, variant: Counts, alpha: float) -> Frequentist:
    p1, v1 = (float(value) for value in count_moments(control.n, control.x))
    p2, v2 = (float(value) for value in count_moments(variant.n, variant.x))
    z, p_value = (float(value) for value in proportions_z_test(control.n, control.x, variant.n, variant.x))
    quantile = float(norm.ppf(1 - alpha / 2))
    both = control.n > 0 and variant.n > 0
    low, high = _interval(p2 - p1, math.sqrt(v1 / control.n + v2 / variant.n) if both else math.nan, quantile)
    relative = p2 / p1 - 1 if p1 > 0 else None
    relative_low = relative_high = None
    if control.x > 0 and variant.x > 0:
        # Delta method on log(p2 / p1): Var ≈ (1 − p1)/(n1 p1) + (1 − p2)/(n2 p2) = 1/x − 1/n each.
        log_error = math.sqrt(max(1 / control.x - 1 / control.n + 1 / variant.x - 1 / variant.n, 0.0))
        log_low, log_high = _interval(math.log(p2 / p1), log_error, quantile)
        if log_low is not None and log_high is not None:
            relative_low, relative_high = math.exp(log_low) - 1, math.exp(log_high) - 1
    return Frequentist(
        control_rate=p1,
        variant_rate=p2,
        difference=p2 - p1,
        difference_low=low,
        difference_high=high,
        relative=relative,
        relative_low=relative_low,
        relative_high=relative_high,
        p_value=p_value,
        significant=p_value < alpha,
        alpha=alpha,
        statistic=z if both and 0 < control.x + variant.x < control.n + variant.n else None,
        degrees_of_freedom=None,
    )


def _compare_sums(control: Sums, variant: Sums, alpha: float) -> Frequentist:
    m1, v1 = (float(value) for value in sum_moments(control.n, control.total, control.total_sq))
    m2, v2 = (float(value) for value in sum_moments(variant.n, variant.total, variant.total_sq))
    t, df, p = (float(value) for value in welch_t_test(control.n, m1, v1, variant.n, m2, v2))
    defined = math.isfinite(df)
    error = math.sqrt(v1 / control.n + v2 / variant.n) if defined else math.nan
    quantile = float(student_t.ppf(1 - alpha / 2, df)) if defined else math.nan
    low, high = _interval(m2 - m1, error, quantile)
    # A control mean so close to 0 that the ratio overflows has no relative difference either.
    relative = none_if_nan(m2 / m1 - 1) if m1 > 0 else None
    relative_low = relative_high = None
    if relative is not None and defined:
        # Delta method on the ratio r = m2/m1: Var(r) ≈ (v2/n2 + r² v1/n1) / m1².
        ratio = relative + 1
        ratio_error = math.sqrt(v2 / variant.n + ratio * ratio * v1 / control.n) / m1
        relative_low, relative_high = _interval(relative, ratio_error, float(norm.ppf(1 - alpha / 2)))
    return Frequentist(
        control_rate=m1,
        variant_rate=m2,
        difference=m2 - m1,
        difference_low=low,
        difference_high=high,
        relative=relative,
        relative_low=relative_low,
        relative_high=relative_high,
        p_value=p,
        significant=p < alpha,
        alpha=alpha,
        statistic=t if defined else None,
        degrees_of_freedom=none_if_nan(df),
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest (from 0) is multiplied by ``m − i``; a running maximum keeps
    the adjusted values in the same order as the raw ones, and each is capped at 1."""
    for index, value in enumerate(p_values):
        if not 0 <= value <= 1:
            raise InvalidInput(f"a p-value lies between 0 and 1 (got {value})", field=f"p_values[{index}]")
    count = len(p_values)
    adjusted = [0.0] * count
    running = 0.0
    for rank, index in enumerate(sorted(range(count), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
