"""Which columns of a :class:`Table` a model learns from, and how their text cells read as values.

A column is numeric when nearly all its filled cells read as numbers the way people write them in
spreadsheets ("1,200", "12%", "$3.5k", "1.200,50", "12 000"), categorical otherwise. Columns that
cannot teach anything are left out with the reason: empty ones, ones with a single value, and text
that differs in (almost) every row (an id, a name, a free comment). Overrides force a kind.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadwell.errors import InvalidInput
from leadwell.predict.table import Table

NUMERIC = "numeric"
CATEGORICAL = "categorical"
NUMERIC_SHARE = 0.95  # of filled cells that must read as numbers for a column to count as numeric
UNIQUE_SHARE = 0.9  # text differing in this share of filled rows is an identifier, not a category
UNIQUE_FROM_ROWS = 20  # below this many filled rows nothing looks like an identifier yet
SAMPLE_CELLS = 2000  # cells read to rule out a numeric column early

_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--", "?", "#n/a", "missing"})
_SHAPE = re.compile(
    r"^(?P<sign>[-+\u2212]?)\s*[$€£¥]?\s*(?P<digits>\d[\d,.'\s\u00a0\u202f]*)\s*(?P<unit>%|k|m|mm|bn)?$",
    re.IGNORECASE,
)
_COMMA_GROUPS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DOT_GROUPS = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$")
_SPACE_GROUPS = re.compile(r"^\d{1,3}(?:['\s\u00a0\u202f]\d{3})+(?:[.,]\d+)?$")
_DECIMAL_COMMA = re.compile(r"^\d+,\d+$")
_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")
_SCALE = {"": 1.0, "%": 1.0, "k": 1e3, "m": 1e6, "mm": 1e6, "bn": 1e9}


@dataclass(frozen=True)
class Feature:
    """One input column of a model and how it is read."""

    name: str
    kind: str  # "numeric" | "categorical"


def parse_number(text: str | None) -> float | None:
    """A cell as a number, or ``None`` when it is blank, a missing-value marker ("N/A") or not a
    number. "12%" reads as 12 (the unit does not matter to a model), "1,200" as 1200, "3,5" as 3.5."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return _parse_written(text)
    return value if math.isfinite(value) else None


def _parse_written(text: str) -> float | None:
    cleaned = text.strip()
    if cleaned.casefold() in _MISSING:
        return None
    shape = _SHAPE.match(cleaned)
    if shape is None:
        return None
    digits = shape.group("digits").strip()
    if _PLAIN.match(digits):
        number = digits
    elif _COMMA_GROUPS.match(digits):
        number = digits.replace(",", "")
    elif _DOT_GROUPS.match(digits):
        number = digits.replace(".", "").replace(",", ".")
    elif _SPACE_GROUPS.match(digits):
        number = re.sub(r"['\s\u00a0\u202f]", "", digits).replace(",", ".")
    elif _DECIMAL_COMMA.match(digits):
        number = digits.replace(",", ".")
    else:
        return None
    sign = -1.0 if shape.group("sign") in ("-", "\u2212") else 1.0
    return sign * float(number) * _SCALE[(shape.group("unit") or "").lower()]


def is_missing(text: str | None) -> bool:
    """Whether a cell holds nothing (blank, or only spaces)."""
    return text is None or not text.strip()


def numbers(cells: Sequence[str | None]) -> npt.NDArray[np.float64]:
    """A column's cells as floats, NaN where a cell is blank or not a number."""
    try:
        # The common case, a column of plain numbers, converts in C in one go.
        values = np.asarray(["nan" if cell is None else cell for cell in cells], dtype=np.float64)
    except ValueError:
        # Written numbers ("1,200", "$20k") repeat: each distinct spelling is parsed once.
        parsed = {cell: _or_nan(parse_number(cell)) for cell in set(cells)}
        values = np.fromiter((parsed[cell] for cell in cells), dtype=np.float64, count=len(cells))
    values[~np.isfinite(values)] = np.nan
    return values


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def category_key(text: str | None) -> str | None:
    """The value a categorical cell stands for: spaces collapsed, case ignored ("Retail " is
    "retail"); ``None`` for a blank cell."""
    if text is None:
        return None
    key = " ".join(text.split()).casefold()
    return key or None


def infer_features(
    table: Table,
    exclude: Collection[str],
    numeric: Collection[str] = (),
    categorical: Collection[str] = (),
) -> list[Feature]:
    """Every column but ``exclude`` that can teach a model something, numeric or categorical as its
    cells suggest unless ``numeric``/``categorical`` name it. See :func:`infer_features_explained`."""
    return infer_features_explained(table, exclude, numeric, categorical)[0]


def infer_features_explained(
    table: Table,
    exclude: Collection[str],
    numeric: Collection[str] = (),
    categorical: Collection[str] = (),
) -> tuple[list[Feature], dict[str, str]]:
    """The features, and each column left out with why ("empty", "a single value: 'Yes'", …).

    Raises :class:`InvalidInput` for an override naming no column, a column named both numeric and
    categorical or also excluded, and a forced-numeric column with a cell that is not a number."""
    _check_overrides(table, exclude, numeric, categorical)
    forced_numeric = {name.casefold() for name in numeric}
    forced_categorical = {name.casefold() for name in categorical}
    excluded = {name.casefold() for name in exclude}
    features: list[Feature] = []
    skipped: dict[str, str] = {}
    for at, name in enumerate(table.columns):
        key = name.casefold()
        if key in excluded:
            continue
        cells = [row[at] for row in table.rows]
        if key in forced_numeric:
            _require_numbers(table, name, cells)
            features.append(Feature(name, NUMERIC))
        elif key in forced_categorical:
            features.append(Feature(name, CATEGORICAL))
        else:
            kind, why = _infer(cells)
            if kind is None:
                skipped[name] = why
            else:
                features.append(Feature(name, kind))
    return features, skipped


def _check_overrides(
    table: Table, exclude: Collection[str], numeric: Collection[str], categorical: Collection[str]
) -> None:
    known = {column.casefold() for column in table.columns}
    for option, names in (("--numeric", numeric), ("--categorical", categorical)):
        for name in names:
            if name.casefold() not in known:
                raise InvalidInput(f"{option} {name}: the file has no column of this name", field=name)
            if name.casefold() in {other.casefold() for other in exclude}:
                raise InvalidInput(
                    f"{option} {name}: this column is the target or an id, not a feature", name
                )
    both = {name.casefold() for name in numeric} & {name.casefold() for name in categorical}
    if both:
        name = sorted(both)[0]
        raise InvalidInput(f"{name}: named both --numeric and --categorical", field=name)


def _require_numbers(table: Table, name: str, cells: Sequence[str | None]) -> None:
    for row, cell in enumerate(cells):
        if cell is None or parse_number(cell) is not None or cell.strip().casefold() in _MISSING:
            continue
        raise InvalidInput(
            f"--numeric {name}: {table.line_of(row)}: {cell[:40]!r} is not a number", field=name
        )


def _infer(cells: Sequence[str | None]) -> tuple[str | None, str]:
    """(kind, "") for a usable column; (None, why) for one left out."""
    filled = [cell for cell in cells if cell is not None and cell.strip()]
    if not filled:
        return None, "empty"
    sample = filled[:SAMPLE_CELLS]
    if _readable_share(sample) >= NUMERIC_SHARE and _readable_share(filled) >= NUMERIC_SHARE:
        values = numbers(filled)
        distinct = np.unique(values[~np.isnan(values)])
        if len(distinct) == 0:
            return None, "empty (only missing-value marks such as N/A)"
        if len(distinct) == 1:
            return None, f"a single value: {float(distinct[0]):g}"
        return NUMERIC, ""
    keys = {category_key(cell) for cell in filled}
    if len(keys) == 1:
        return None, f"a single value: {filled[0].strip()[:40]!r}"
    if len(filled) >= UNIQUE_FROM_ROWS and len(keys) >= UNIQUE_SHARE * len(filled):
        return None, (
            f"different in {len(keys)} of {len(filled)} rows (an id or a name?); --categorical uses it anyway"
        )
    return CATEGORICAL, ""


def _readable_share(cells: Sequence[str | None]) -> float:
    """The share of cells that read as numbers; missing-value markers ("N/A") count as readable."""
    readable = sum(
        1
        for cell in cells
        if parse_number(cell) is not None or (cell is not None and cell.strip().casefold() in _MISSING)
    )
    return readable / len(cells) if cells else 0.0
