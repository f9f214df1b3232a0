"""Thompson sampling shares: the chance of being best, floored and seeded."""

from __future__ import annotations

import numpy as np
import pytest

from leadwell.errors import InvalidInput
from leadwell.experiments.allocation import best_shares
from leadwell.experiments.bayes import beta_chance_greater
from leadwell.experiments.stats import Counts, Sums, thompson_shares


def test_two_arms_share_by_the_chance_to_beat() -> None:
    # Without a floor, the variant's share is P(variant > control), known exactly.
    arms = [Counts(400, 40), Counts(400, 52)]
    shares = thompson_shares(arms, draws=200_000, seed=1, floor=0.0)
    chance = beta_chance_greater(41, 361, 53, 349)
    assert shares[1] == pytest.approx(chance, abs=0.005)
    assert sum(shares) == pytest.approx(1.0)


def test_floor_keeps_every_arm_alive() -> None:
    # Arm C is far ahead: A and B would get next to nothing; the floor gives each 5 %:
    # share = 0.05 + (1 − 3 × 0.05) × raw, so C gets about 0.05 + 0.85 = 0.90.
    arms = [Counts(2000, 100), Counts(2000, 105), Counts(2000, 220)]
    shares = thompson_shares(arms, seed=3)
    assert shares[0] == pytest.approx(0.05, abs=1e-3) and shares[1] == pytest.approx(0.05, abs=1e-3)
    assert shares[2] == pytest.approx(0.90, abs=2e-3)
    assert sum(shares) == pytest.approx(1.0)


def test_seeded() -> None:
    arms = [Counts(100, 10), Counts(100, 12), Counts(100, 9)]
    assert thompson_shares(arms, seed=4) == thompson_shares(arms, seed=4)
    assert thompson_shares(arms, seed=4) != thompson_shares(arms, seed=5)


def test_revenue_arms_use_normal_posteriors() -> None:
    # Means 2 (sd of mean sqrt(1/3)) and 5 (sd sqrt(5/3)): P(second best) = Φ(3/√2) = 0.983052.
    shares = thompson_shares([Sums(3, 6.0, 14.0), Sums(4, 20.0, 120.0)], draws=200_000, floor=0.0)
    assert shares[1] == pytest.approx(0.983052, abs=0.003)


def test_revenue_arms_too_small_or_tied_split_evenly() -> None:
    assert thompson_shares([Sums(1, 3.0, 9.0), Sums(10, 10.0, 20.0)]) == pytest.approx([0.5, 0.5])
    # Every unit earned exactly 2 in both arms: every draw is a tie, split in half.
    assert thompson_shares([Sums(5, 10.0, 20.0), Sums(5, 10.0, 20.0)], floor=0.0) == [0.5, 0.5]


def test_lower_is_better_favours_the_lower_arm() -> None:
    arms = [Counts(1000, 30), Counts(1000, 60)]  # unsubscribes: the first arm is better
    assert thompson_shares(arms, higher_is_better=False)[0] > 0.9
    assert thompson_shares(arms)[1] > 0.9


def test_best_shares_split_ties() -> None:
    samples = np.array([[1.0, 2.0, 2.0], [3.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 5.0]])
    # Row by row: B and C halves; A; thirds; C.
    expected = np.array([0 + 1 + 1 / 3 + 0, 0.5 + 0 + 1 / 3 + 0, 0.5 + 0 + 1 / 3 + 1]) / 4
    assert best_shares(samples) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("arms", "keywords", "field"),
    [
        ([], {}, "arms"),
        ([Counts(10, 1), Sums(10, 1.0, 1.0)], {}, "arms[1]"),
        ([Counts(10, 1), Counts(10, 2)], {"floor": 0.6}, "floor"),
        ([Counts(10, 1), Counts(10, 2)], {"floor": -0.1}, "floor"),
        ([Counts(10, 1), Counts(10, 2)], {"draws": 5}, "draws"),
        ([Counts(10, 1), Counts(10, 2)], {"seed": -3}, "seed"),
    ],
)
def test_bad_input_is_refused(arms: list[Counts | Sums], keywords: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        thompson_shares(arms, **keywords)  # type: ignore[arg-type]
    assert error.value.field == field
