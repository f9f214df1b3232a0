"""The conditions a discovered rule is made of, and the rows each one matches, as bit sets.

A condition tests one column: a number at least or at most a threshold (``employees ≥ 100``), a
category equal to one of its frequent values (``industry = Retail``), or a cell that is filled in
(``phone is set``). Thresholds are quantiles of the column rounded to the most readable number that
moves few rows across it (100 rather than 97.4). Categories compare as the prediction engine
compares them (case and spacing aside) and are shown as they are most often written.

Rows are held as bit sets, one bit per row and 64 rows a machine word, so that matching a rule
against every candidate condition at once is one AND and one population count over a matrix.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from leadwell.predict.features import NUMERIC, Feature, category_key, numbers
from leadwell.predict.table import Table

Bits = NDArray[np.uint64]
Mask = NDArray[np.bool_]
SYMBOLS = {"gte": "≥", "lte": "≤", "eq": "="}
# How far (as a share of a column's filled rows) a rounded threshold may move from its quantile.
ROUNDING_TOLERANCE = 0.02
# Readable roundings, most readable first: (significant digits, step of the last digit).
ROUNDINGS = ((1, 1.0), (2, 5.0), (2, 1.0), (3, 1.0))


@dataclass(frozen=True)
class Condition:
    """One test on one column: ``gte``/``lte`` a number, ``eq`` a text, or ``is_set``."""

    column: str
    op: str
    value: float | str | None = None

    @property
    def text(self) -> str:
        """The condition as people read it: "employees ≥ 100", "industry = Retail", "phone is set"."""
        if self.op == "is_set":
            return f"{self.column} is set"
        shown = number_text(self.value) if isinstance(self.value, float) else str(self.value)
        return f"{self.column} {SYMBOLS[self.op]} {shown}"


@dataclass(frozen=True)
class Candidate:
    """A condition the search may use; ``numeric`` when its column holds numbers."""

    condition: Condition
    numeric: bool


@dataclass(frozen=True)
class Candidates:
    """Every candidate condition with the rows it matches: row ``i`` of ``matrix`` is the bit set
    of ``items[i]``."""

    items: list[Candidate]
    matrix: Bits


def number_text(value: float) -> str:
    """A threshold as written: whole numbers without a fraction, others to six significant digits."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def pack(mask: Mask) -> Bits:
    """A boolean row mask as 64-bit words (padded with zero bits)."""
    packed = np.packbits(mask)
    padded = np.zeros(-(-packed.size // 8) * 8, dtype=np.uint8)
    padded[: packed.size] = packed
    return padded.view(np.uint64)


def count(bits: Bits) -> NDArray[np.int64]:
    """Set bits along the last axis (one number for a bit set, one per row of a matrix)."""
    counted: NDArray[np.int64] = np.bitwise_count(bits).sum(axis=-1, dtype=np.int64)
    return counted


def readable(target: float, ordered: NDArray[np.float64], tolerance: int) -> float:
    """The most readable number near ``target`` that moves at most ``tolerance`` of the sorted
    ``ordered`` values across it: one significant digit, then halves (250), two digits, three."""
    if target == 0:
        return 0.0
    at = int(np.searchsorted(ordered, target))
    magnitude = math.floor(math.log10(abs(target)))
    for digits, step in ROUNDINGS:
        unit = 10.0 ** (magnitude - digits + 1) * step
        rounded = round(round(target / unit) * unit, 12)
        if abs(int(np.searchsorted(ordered, rounded)) - at) <= tolerance:
            return float(rounded)
    return target


def _numeric(name: str, values: NDArray[np.float64], quantiles: Sequence[float]) -> list[Candidate]:
    filled = np.sort(values[~np.isnan(values)])
    if filled.size == 0 or filled[0] == filled[-1]:
        return []
    tolerance = int(ROUNDING_TOLERANCE * filled.size)
    thresholds = sorted({readable(float(q), filled, tolerance) for q in np.quantile(filled, quantiles)})
    found = []
    for threshold in thresholds:
        if threshold > filled[0]:  # "≥ the least value" matches every filled row: no news
            found.append(Candidate(Condition(name, "gte", threshold), True))
        if threshold < filled[-1]:
            found.append(Candidate(Condition(name, "lte", threshold), True))
    return found


def _numeric_mask(values: NDArray[np.float64], condition: Condition) -> Mask:
    assert isinstance(condition.value, float)
    with np.errstate(invalid="ignore"):  # NaN (empty) compares false: unknown never matches
        mask = values >= condition.value if condition.op == "gte" else values <= condition.value
    return np.asarray(mask, dtype=bool)


def _categorical(name: str, cells: Sequence[str | None], most: int) -> tuple[list[Candidate], list[Mask]]:
    """``name = value`` for the column's ``most`` most frequent values."""
    keys = np.array([category_key(cell) for cell in cells], dtype=object)
    counts = Counter(key for key in keys if key is not None)
    if len(counts) < 2:
        return [], []
    spellings = Counter(
        (key, " ".join(cell.split())) for key, cell in zip(keys, cells, strict=True) if cell and key
    )
    shown: dict[str, str] = {}
    for (key, spelling), _ in sorted(spellings.items(), key=lambda item: (-item[1], item[0])):
        shown.setdefault(key, spelling)
    frequent = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:most]
    candidates = [Candidate(Condition(name, "eq", shown[key]), False) for key, _ in frequent]
    return candidates, [np.asarray(keys == key, dtype=bool) for key, _ in frequent]


def _of_feature(
    feature: Feature, cells: Sequence[str | None], quantiles: Sequence[float], most: int
) -> tuple[list[Candidate], list[Mask]]:
    numeric = feature.kind == NUMERIC
    if numeric:
        values = numbers(cells)
        found = _numeric(feature.name, values, quantiles)
        masks = [_numeric_mask(values, candidate.condition) for candidate in found]
        filled = ~np.isnan(values)
    else:
        found, masks = _categorical(feature.name, cells, most)
        filled = np.array([category_key(cell) is not None for cell in cells], dtype=bool)
    if 0 < filled.sum() < len(cells):  # "is set" says something only when some cells are empty
        found.append(Candidate(Condition(feature.name, "is_set"), numeric))
        masks.append(filled)
    return found, masks


def candidate_conditions(
    table: Table, features: Sequence[Feature], quantiles: Sequence[float], most_values: int
) -> Candidates:
    """Every candidate condition of every feature: numbers at the ``quantiles`` (rounded), the
    ``most_values`` most frequent categories, and ``is set`` where some cells are empty."""
    by_column = dict(zip(table.columns, zip(*table.rows, strict=True), strict=True)) if table.rows else {}
    items: list[Candidate] = []
    masks: list[Mask] = []
    for feature in features:
        found, found_masks = _of_feature(feature, by_column.get(feature.name, ()), quantiles, most_values)
        items.extend(found)
        masks.extend(found_masks)
    words = -(-len(table.rows) // 64)
    matrix = np.stack([pack(mask) for mask in masks]) if masks else np.zeros((0, words), dtype=np.uint64)
    return Candidates(items, matrix)
