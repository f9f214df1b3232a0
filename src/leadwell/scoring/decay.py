"""Exponentially decaying engagement scores, kept incrementally.

A contact's score is the sum of its awarded points, each decayed by e^(−λ·age). It is stored as
``S`` at ``t0`` (the latest moment any points were added): an event worth ``p`` points at ``t``
after ``t0`` makes ``S ← S·e^(−λ(t−t0)) + p`` and ``t0 ← t``; an event that arrives late, with
``t`` before ``t0``, adds its points already decayed to ``t0`` (``S ← S + p·e^(−λ(t0−t))``). Both
are exact, so any arrival order gives the same score as summing the whole log at once.

Ranking by the current score ``S·e^(−λ(now−t0))`` equals ranking by ``ln S + λ·t0``, which does
not depend on "now": that is :func:`rank_key`, an indexed column. Scores at or below zero (after
negative points) cannot take a logarithm; they get keys below every positive score's.

Times are measured in days since the Unix epoch (:func:`days`), rates per day.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECONDS_PER_DAY = 86_400.0
# rank_key of a score of exactly zero, and of a negative one: below any ln S + λ·t0 of a positive
# score for the next few thousand years (λ·t0 stays under 1e6 for any half-life over an hour).
ZERO_RANK = -1e12
NEGATIVE_RANK = -2e12


def decay_rate(half_life_days: float) -> float:
    """λ per day for a half-life in days."""
    return math.log(2) / half_life_days


def days(moment: datetime) -> float:
    """``moment`` as days since the Unix epoch (aware datetimes only)."""
    return (moment - EPOCH).total_seconds() / SECONDS_PER_DAY


def add_points(
    score: float, scored_at: datetime | None, points: float, at: datetime, rate: float
) -> tuple[float, datetime]:
    """The stored pair (S, t0) after adding ``points`` earned at ``at``."""
    if scored_at is None:
        return points, at
    if at >= scored_at:
        return score * math.exp(-rate * (days(at) - days(scored_at))) + points, at
    return score + points * math.exp(-rate * (days(scored_at) - days(at))), scored_at


def current(score: float, scored_at: datetime | None, now: datetime, rate: float) -> float:
    """The score as it stands at ``now`` (a moment before ``t0`` gives the stored S unchanged)."""
    if scored_at is None or now <= scored_at:
        return score
    return score * math.exp(-rate * (days(now) - days(scored_at)))


def rank_key(score: float, scored_at: datetime | None, rate: float) -> float:
    """A key that sorts contacts by current score at any "now": ln S + λ·t0 for S > 0."""
    if scored_at is None or score == 0:
        return ZERO_RANK
    if score < 0:
        return NEGATIVE_RANK
    return math.log(score) + rate * days(scored_at)


def score_from_rank(key: float, now: datetime, rate: float) -> float:
    """The current score a positive ``rank_key`` stands for at ``now`` (0 for the sentinel keys)."""
    if key <= ZERO_RANK:
        return 0.0
    return math.exp(key - rate * days(now))
