"""Thompson sampling: give each arm the share of new units equal to its chance of being the best.

Each arm's posterior (Beta(1 + x, 1 + n − x) for conversions, N(mean, variance ÷ n) for revenue) is
drawn ``draws`` times with a seeded generator; an arm's share is the fraction of draws in which it
comes out on top (ties split evenly). Then a floor: while the experiment runs no arm falls below
``floor``, so a slow starter can still recover and the final comparison keeps data on every arm:
share = floor + (1 − k·floor) × raw share, which still sums to 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from leadwell.errors import InvalidInput
from leadwell.experiments.arms import Arm, Counts, FloatArray, Sums, check_same_kind, sum_moments


def posterior_draws(arms: Sequence[Arm], draws: int, rng: np.random.Generator) -> FloatArray:
    """A ``(draws, arms)`` array of draws from each arm's posterior mean."""
    columns = []
    for arm in arms:
        if isinstance(arm, Counts):
            columns.append(rng.beta(1 + arm.x, 1 + arm.n - arm.x, size=draws))
        else:
            mean, variance = (float(value) for value in sum_moments(arm.n, arm.total, arm.total_sq))
            columns.append(rng.normal(mean, math.sqrt(variance / arm.n), size=draws))
    return np.column_stack(columns)


def best_shares(samples: FloatArray) -> FloatArray:
    """Fraction of rows (draws) in which each column is the largest, ties split evenly."""
    best = samples == samples.max(axis=1, keepdims=True)
    result: FloatArray = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    return result


def thompson_shares(
    arms: Sequence[Arm],
    *,
    draws: int = 10000,
    seed: int = 0,
    floor: float = 0.05,
    higher_is_better: bool = True,
) -> list[float]:
    """Share of new units per arm, in the order given; sums to 1 and none is below ``floor``.

    Revenue arms with fewer than two units have no estimable spread yet: the split stays even."""
    _check(arms, draws, seed, floor)
    count = len(arms)
    if any(isinstance(arm, Sums) and arm.n < 2 for arm in arms):
        raw = np.full(count, 1 / count)
    else:
        samples = posterior_draws(arms, draws, np.random.default_rng(seed))
        raw = best_shares(samples if higher_is_better else -samples)
    shares = floor + (1 - count * floor) * raw
    return [float(share) for share in shares / shares.sum()]


def _check(arms: Sequence[Arm], draws: int, seed: int, floor: float) -> None:
    if not arms:
        raise InvalidInput("at least one arm is needed", field="arms")
    check_same_kind(list(arms), "arms")
    if draws < 100:
        raise InvalidInput(f"at least 100 posterior draws are needed (got {draws})", field="draws")
    if seed < 0:
        raise InvalidInput(f"a seed is a non-negative integer (got {seed})", field="seed")
    if not 0 <= floor <= 1 / len(arms):
        raise InvalidInput(f"the floor lies between 0 and 1/{len(arms)} (got {floor})", field="floor")
