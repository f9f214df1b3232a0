"""One arm's own rate (or mean per unit) with its 95 % interval: the report's variant rows, the
level a promoted winner was tested at, and the monitor's reading of it since.

Conversions use Wilson's score interval, which stays inside [0, 1] and behaves with few or no
conversions (where the textbook p ± z·se collapses to a point); revenue the normal interval of
the mean, mean ± z·s/√n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from leadwell.experiments.arms import Arm, Counts, moments

LEVEL = 0.95


@dataclass(frozen=True)
class RateInterval:
    """The arm's rate (or mean) and its interval; ``low``/``high`` are ``None`` without data."""

    rate: float
    low: float | None
    high: float | None


def rate_interval(arm: Arm, level: float = LEVEL) -> RateInterval:
    """The rate of a :class:`Counts` with its Wilson interval, or the mean of a :class:`Sums` with
    its normal interval (``None`` bounds below one unit, or two for a mean)."""
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    mean, variance = moments(arm)
    if isinstance(arm, Counts):
        if arm.n == 0:
            return RateInterval(0.0, None, None)
        spread = z * z / arm.n
        centre = (mean + spread / 2) / (1 + spread)
        half = z / (1 + spread) * math.sqrt(variance / arm.n + spread / (4 * arm.n))
        return RateInterval(mean, max(centre - half, 0.0), min(centre + half, 1.0))
    if arm.n < 2:
        return RateInterval(mean, None, None)
    half = z * math.sqrt(variance / arm.n)
    return RateInterval(mean, mean - half, mean + half)
