"""Sample-ratio mismatch: did the units reach the variants in the proportions they were meant to?

A split that drifts from its weights (a redirect that loses visitors, a variant that fails to render,
bots hitting one page) biases every other number, so a mismatch is checked before any verdict: a
chi-square goodness-of-fit test of the exposed counts against the weights, with k − 1 degrees of
freedom over the k variants that have weight. It flags a mismatch only at p < 0.001, because the
check runs every day and false alarms would teach people to ignore it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import chi2

from leadwell.errors import InvalidInput
from leadwell.experiments.arms import JsonReady

MISMATCH_P = 0.001


@dataclass(frozen=True)
class SampleRatio(JsonReady):
    """The exposed counts against the counts the weights expect."""

    p_value: float
    expected: tuple[float, ...]  # as_dict gives a list
    mismatch: bool  # p_value < 0.001
    statistic: float | None  # the chi-square sum; None when a weight-0 variant got units


def sample_ratio(observed: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Chi-square goodness of fit of ``observed`` (exposed units per variant) to ``weights``.

    A variant of weight 0 expects no units: any unit there is a mismatch (p = 0); otherwise it is
    left out of the test. With no units at all there is nothing to check (p = 1)."""
    _check(observed, weights)
    total = sum(observed)
    weight_sum = sum(weights)
    expected = tuple(total * weight / weight_sum for weight in weights)
    if any(count > 0 and weight == 0 for count, weight in zip(observed, weights, strict=True)):
        return SampleRatio(0.0, expected, True, None)
    pairs = [(count, share) for count, share in zip(observed, expected, strict=True) if share > 0]
    if total == 0 or len(pairs) < 2:
        return SampleRatio(1.0, expected, False, 0.0)
    statistic = sum((count - share) ** 2 / share for count, share in pairs)
    p_value = float(chi2.sf(statistic, len(pairs) - 1))
    return SampleRatio(p_value, expected, p_value < MISMATCH_P, float(statistic))


def _check(observed: Sequence[int], weights: Sequence[float]) -> None:
    if len(observed) != len(weights):
        raise InvalidInput(f"{len(observed)} counts for {len(weights)} weights", field="weights")
    for index, count in enumerate(observed):
        if count < 0:
            raise InvalidInput(f"a count cannot be negative (got {count})", field=f"observed[{index}]")
    for index, weight in enumerate(weights):
        if not (math.isfinite(weight) and weight >= 0):
            raise InvalidInput(f"a weight is a number ≥ 0 (got {weight})", field=f"weights[{index}]")
    if not weights or sum(weights) <= 0:
        raise InvalidInput("at least one weight must be positive", field="weights")
