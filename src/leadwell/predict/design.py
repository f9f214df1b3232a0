"""Turning feature columns into the number matrices the two kinds of model read.

The logistic model reads a standardized matrix: each numeric feature clipped to the 1st–99th
percentile of the training rows (one outlier must not bend a linear model), blanks filled with the
median and flagged in an indicator column when the training rows had blanks; each categorical
feature one-hot, its rare levels and levels never seen in training folded into "other". The
boosted model reads numbers as they are (it handles blanks itself) and categories as level codes.
Everything learned here (medians, percentiles, levels) comes from the rows the model is fitted on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadwell.errors import InvalidInput
from leadwell.predict.features import NUMERIC, Feature, category_key, numbers
from leadwell.predict.table import Table

Matrix = npt.NDArray[np.float64]
MAX_LEVELS = 30  # most frequent levels kept per categorical feature; the rest are "other"
MIN_LEVEL_ROWS = 10  # a level seen in fewer training rows is too rare to learn from
OTHER = "other"


@dataclass
class Values:
    """Feature columns read from a table once: floats (NaN for blanks) or category keys."""

    numeric: dict[str, Matrix]
    categorical: dict[str, list[str | None]]
    rows: int


@dataclass
class NumericPlan:
    name: str
    median: float
    low: float
    high: float
    mean: float
    scale: float
    flag_missing: bool  # the training rows had blanks: a column says which rows are blank
    all_blank: bool = False  # no training row had a value: the feature carries nothing to learn


@dataclass
class CategoricalPlan:
    name: str
    levels: list[str | None]  # kept keys, most frequent first (None is the blank level)
    labels: list[str]  # as first written, for reasons


@dataclass
class Encoder:
    """What turns :class:`Values` into matrices, learned from the training rows."""

    features: list[Feature]
    numeric: list[NumericPlan]
    categorical: list[CategoricalPlan]

    def linear_groups(self) -> list[int]:
        """For each column of the linear matrix, the position of its feature in ``features``."""
        position = {feature.name: at for at, feature in enumerate(self.features)}
        groups: list[int] = []
        for plan in self.numeric:
            groups += [position[plan.name]] * (2 if plan.flag_missing else 1)
        for category in self.categorical:
            groups += [position[category.name]] * (len(category.levels) + 1)
        return groups

    def tree_categorical_mask(self) -> list[bool]:
        return [False] * len(self.numeric) + [True] * len(self.categorical)


def require_columns(table: Table, features: Sequence[Feature]) -> None:
    """:class:`InvalidInput` naming the first feature column the table lacks (and how many more)."""
    present = set(table.columns)
    missing = [feature.name for feature in features if feature.name not in present]
    if missing:
        more = f" (and {len(missing) - 1} more: {', '.join(missing[1:6])})" if len(missing) > 1 else ""
        raise InvalidInput(
            f"{missing[0]}: the model reads this column but the file has none of this name{more}",
            field=missing[0],
        )


def read_values(table: Table, features: Sequence[Feature]) -> Values:
    """Every feature column of ``table`` read once (numbers parsed, categories normalised)."""
    require_columns(table, features)
    numeric: dict[str, Matrix] = {}
    categorical: dict[str, list[str | None]] = {}
    for feature in features:
        at = table.columns.index(feature.name)
        cells = [row[at] for row in table.rows]
        if feature.kind == NUMERIC:
            numeric[feature.name] = numbers(cells)
        else:
            keys = {cell: category_key(cell) for cell in set(cells)}
            categorical[feature.name] = [keys[cell] for cell in cells]
    return Values(numeric, categorical, len(table.rows))


def take(values: Values, positions: npt.NDArray[np.intp]) -> Values:
    """The rows at ``positions``."""
    picked = positions.tolist()
    return Values(
        {name: column[positions] for name, column in values.numeric.items()},
        {name: [column[at] for at in picked] for name, column in values.categorical.items()},
        len(picked),
    )


def fit_encoder(values: Values, features: Sequence[Feature], table: Table | None = None) -> Encoder:
    """Medians, clipping bounds, scales and kept levels learned from ``values`` (the training rows).
    ``table`` (the same rows as text) supplies each level's label as first written."""
    numeric_plans = [_numeric_plan(f.name, values.numeric[f.name]) for f in features if f.kind == NUMERIC]
    categorical_plans = [
        _categorical_plan(f.name, values.categorical[f.name], table) for f in features if f.kind != NUMERIC
    ]
    ordered = [Feature(plan.name, NUMERIC) for plan in numeric_plans] + [
        feature for feature in features if feature.kind != NUMERIC
    ]
    return Encoder(ordered, numeric_plans, categorical_plans)


def _numeric_plan(name: str, column: Matrix) -> NumericPlan:
    known = column[~np.isnan(column)]
    if len(known) == 0:
        return NumericPlan(name, 0.0, 0.0, 0.0, 0.0, 1.0, True, all_blank=True)
    low, median, high = (float(value) for value in np.percentile(known, [1, 50, 99]))
    filled = np.clip(np.where(np.isnan(column), median, column), low, high)
    scale = float(filled.std())
    return NumericPlan(name, median, low, high, float(filled.mean()), scale or 1.0, len(known) < len(column))


def _categorical_plan(name: str, keys: list[str | None], table: Table | None) -> CategoricalPlan:
    counts = Counter(keys)
    kept = [key for key, count in counts.most_common(MAX_LEVELS) if count >= MIN_LEVEL_ROWS]
    labels = {key: key or "blank" for key in kept}
    if table is not None and name in table.columns:
        at = table.columns.index(name)
        wanted = set(kept)
        for row in table.rows:
            cell = row[at]
            key = category_key(cell)
            if key in wanted and cell is not None:
                labels[key] = " ".join(cell.split())
                wanted.discard(key)
                if not wanted:
                    break
    return CategoricalPlan(name, kept, [labels[key] for key in kept])


def linear_matrix(encoder: Encoder, values: Values) -> Matrix:
    """The standardized matrix of the logistic model (columns in ``encoder.linear_groups()`` order)."""
    parts: list[Matrix] = []
    for plan in encoder.numeric:
        column = values.numeric[plan.name]
        blank = np.isnan(column)
        filled = np.clip(np.where(blank, plan.median, column), plan.low, plan.high)
        parts.append(((filled - plan.mean) / plan.scale)[:, None])
        if plan.flag_missing:
            parts.append(blank.astype(np.float64)[:, None])
    for category in encoder.categorical:
        codes = _codes(category, values.categorical[category.name])
        parts.append(np.eye(len(category.levels) + 1)[codes])
    if not parts:
        return np.zeros((values.rows, 0))
    return np.hstack(parts)


def tree_matrix(encoder: Encoder, values: Values) -> Matrix:
    """The boosted model's matrix: raw numbers (NaN for blanks), then category codes.

    A numeric feature blank in every training row becomes a constant column: the boosted model
    cannot bin a column with no values at all, and a value seen only when scoring means nothing
    to a model that never saw one."""
    columns = [
        np.zeros(values.rows) if plan.all_blank else values.numeric[plan.name] for plan in encoder.numeric
    ]
    columns += [
        _codes(category, values.categorical[category.name]).astype(np.float64)
        for category in encoder.categorical
    ]
    if not columns:
        return np.zeros((values.rows, 0))
    return np.column_stack(columns)


def _codes(plan: CategoricalPlan, keys: list[str | None]) -> npt.NDArray[np.intp]:
    """Each key's level position; "other" (the last code) for rare and unseen ones."""
    position = {key: at for at, key in enumerate(plan.levels)}
    other = len(plan.levels)
    return np.fromiter((position.get(key, other) for key in keys), dtype=np.intp, count=len(keys))
