"""One arm of an experiment as the statistics see it: counts for conversions, sums for revenue.

An arm is only ever summarised by plain numbers (exposed units, conversions, or the sum and sum of
squares of a per-unit value), so the database can compute them in SQL and every statistic below is a
pure function over them. The array helpers here work on numpy arrays of such numbers, so the
simulation tests and the scalar functions share one implementation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from leadwell.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | int | Sequence[float] | npt.NDArray[Any]

# A sum of squares may fall short of total²/n by rounding; beyond this relative slack the numbers
# cannot come from real values and point at a bug upstream.
_ROUNDING_SLACK = 1e-9


class JsonReady:
    """Mixin for the frozen result dataclasses: ``as_dict()`` gives JSON-ready plain values."""

    def as_dict(self) -> dict[str, Any]:
        """Every field as a plain ``int``/``float``/``bool``/``str``/``None``/list."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in vars(self).items()}


@dataclass(frozen=True)
class Counts(JsonReady):
    """One arm of a conversion metric: ``n`` exposed units, ``x`` of which converted."""

    n: int
    x: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise InvalidInput(f"exposed units cannot be negative (got {self.n})", field="n")
        if not 0 <= self.x <= self.n:
            raise InvalidInput(f"conversions must lie between 0 and n={self.n} (got {self.x})", field="x")


@dataclass(frozen=True)
class Sums(JsonReady):
    """One arm of a revenue metric: ``n`` units, the sum of their values and of their squares."""

    n: int
    total: float
    total_sq: float

    def __post_init__(self) -> None:
        if self.n < 0:
            raise InvalidInput(f"exposed units cannot be negative (got {self.n})", field="n")
        if not (math.isfinite(self.total) and math.isfinite(self.total_sq)):
            raise InvalidInput("sums must be finite numbers", field="total")
        if self.total_sq < 0:
            raise InvalidInput(f"a sum of squares cannot be negative (got {self.total_sq})", field="total_sq")
        if self.n == 0 and (self.total != 0 or self.total_sq != 0):
            raise InvalidInput("an arm without units must have zero sums", field="total")
        if (
            self.n
            and self.total * self.total / self.n > self.total_sq * (1 + _ROUNDING_SLACK) + _ROUNDING_SLACK
        ):
            raise InvalidInput("the sum of squares is smaller than total²/n allows", field="total_sq")


Arm = Counts | Sums


def check_pair(control: Arm, variant: Arm) -> None:
    """Both arms must be of the same kind: comparing a rate with a mean has no meaning."""
    if type(control) is not type(variant):
        raise InvalidInput(
            f"control is {type(control).__name__} but variant is {type(variant).__name__}", field="variant"
        )


def check_same_kind(arms: list[Arm], field: str) -> None:
    """Every arm in a list is of the first one's kind; the culprit is named ``field[i]``."""
    for index, arm in enumerate(arms):
        if type(arm) is not type(arms[0]):
            raise InvalidInput(f"every arm must be {type(arms[0]).__name__}", field=f"{field}[{index}]")


def check_alpha(alpha: float, field: str = "alpha") -> None:
    """A significance level strictly between 0 and 1."""
    if not 0 < alpha < 1:
        raise InvalidInput(f"must lie strictly between 0 and 1 (got {alpha})", field=field)


def count_moments(n: ArrayLike, x: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Rate and per-unit variance ``p(1 − p)`` of conversion counts; 0 and 0 where ``n`` is 0."""
    n_array = np.asarray(n, dtype=np.float64)
    safe_n = np.where(n_array > 0, n_array, 1.0)
    rate = np.where(n_array > 0, np.asarray(x, dtype=np.float64) / safe_n, 0.0)
    return rate, rate * (1.0 - rate)


def sum_moments(n: ArrayLike, total: ArrayLike, total_sq: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Mean and unbiased sample variance (divisor ``n − 1``) from sums; variance 0 below two units.

    The variance is clamped at 0 because ``total_sq − total²/n`` can round to a tiny negative."""
    n_array = np.asarray(n, dtype=np.float64)
    sums = np.asarray(total, dtype=np.float64)
    mean = np.where(n_array > 0, sums / np.where(n_array > 0, n_array, 1.0), 0.0)
    squares = np.asarray(total_sq, dtype=np.float64) - mean * sums
    variance = np.where(n_array > 1, np.maximum(squares, 0.0) / np.where(n_array > 1, n_array - 1, 1.0), 0.0)
    return mean, variance


def moments(arm: Arm) -> tuple[float, float]:
    """``(mean, per-unit variance)`` of one arm: the rate and ``p(1 − p)`` for counts, the mean and
    sample variance for sums."""
    if isinstance(arm, Counts):
        mean, variance = count_moments(arm.n, arm.x)
    else:
        mean, variance = sum_moments(arm.n, arm.total, arm.total_sq)
    return float(mean), float(variance)


def none_if_nan(value: float) -> float | None:
    """Undefined numbers leave as ``None``, never as NaN or infinity (they are not JSON)."""
    return float(value) if math.isfinite(value) else None
