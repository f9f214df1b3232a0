"""Which columns a model learns from, and how their cells read as numbers or categories."""

from __future__ import annotations

import math

import pytest

from leadwell.errors import InvalidInput
from leadwell.predict.features import (
    CATEGORICAL,
    NUMERIC,
    Feature,
    category_key,
    infer_features,
    infer_features_explained,
    numbers,
    parse_number,
)
from leadwell.predict.table import Table


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12.0),
        (" 3.5 ", 3.5),
        ("-4", -4.0),
        ("1e3", 1000.0),
        ("1,200", 1200.0),
        ("1,200,000.5", 1200000.5),
        ("12%", 12.0),
        ("12 %", 12.0),
        ("$3.5k", 3500.0),
        ("€ 2M", 2_000_000.0),
        ("1.200,50", 1200.5),
        ("1.200.000", 1_200_000.0),
        ("12 000", 12000.0),
        ("1'200", 1200.0),
        ("3,5", 3.5),
        ("\u22127", -7.0),
    ],
)
def test_numbers_as_people_write_them(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize(
    "text", [None, "", "  ", "N/A", "nan", "-", "inf", "abc", "12 apples", "1,2,3", "3 months"]
)
def test_blanks_markers_and_words_are_not_numbers(text: str | None) -> None:
    assert parse_number(text) is None


def test_a_column_of_numbers_converts_at_once_or_cell_by_cell() -> None:
    assert numbers(["1", "2.5", None]).tolist()[:2] == [1.0, 2.5]
    mixed = numbers(["1,200", "12%", "N/A", None, "x"])
    assert mixed[:2].tolist() == [1200.0, 12.0]
    assert all(math.isnan(value) for value in mixed[2:])


def test_categories_ignore_case_and_spacing() -> None:
    assert category_key("  Retail   Banking ") == category_key("retail banking") == "retail banking"
    assert category_key(None) is None and category_key("   ") is None


def _table(**columns: list[str | None]) -> Table:
    names = list(columns)
    rows = [list(cells) for cells in zip(*columns.values(), strict=True)]
    return Table(names, rows)


def test_kinds_are_inferred_from_the_cells() -> None:
    rows = 40
    table = _table(
        id=[str(n) for n in range(rows)],
        employees=["1,200" if n % 3 else None for n in range(rows)],  # blanks do not make it text
        share=[f"{n % 7}%" for n in range(rows)],
        industry=["Retail" if n % 2 else "Software" for n in range(rows)],
        mostly_numbers=[str(n) if n else "unknown" for n in range(rows)],  # 1 in 40 is text: still numeric
        won=["Yes" if n % 4 == 0 else "No" for n in range(rows)],
    )
    features, skipped = infer_features_explained(table, exclude=["won"])
    assert features == [
        Feature("id", NUMERIC),
        Feature("share", NUMERIC),
        Feature("industry", CATEGORICAL),
        Feature("mostly_numbers", NUMERIC),
    ]
    assert skipped == {"employees": "a single value: 1200"}


def test_columns_that_cannot_teach_are_left_out_with_why() -> None:
    rows = 30
    table = _table(
        email=[f"person{n}@example.com" for n in range(rows)],
        empty=[None] * rows,
        marks=["N/A"] * rows,
        plan=["Gold"] * rows,
        city=["Paris" if n % 2 else "Lyon" for n in range(rows)],
    )
    features, skipped = infer_features_explained(table, exclude=())
    assert features == [Feature("city", CATEGORICAL)]
    assert skipped["empty"] == "empty"
    assert skipped["marks"].startswith("empty")
    assert skipped["plan"] == "a single value: 'Gold'"
    assert skipped["email"].startswith("different in 30 of 30 rows")


def test_overrides_force_a_kind() -> None:
    table = _table(
        zip=["75001", "69002", "75001", None],
        email=["a@x.io", "b@x.io", "c@x.io", "d@x.io"],
        score=["1", "2", "n/a", "4"],
    )
    features = infer_features(table, exclude=[], numeric=["SCORE"], categorical=["zip", "email"])
    assert features == [Feature("zip", CATEGORICAL), Feature("email", CATEGORICAL), Feature("score", NUMERIC)]


@pytest.mark.parametrize(
    ("numeric", "categorical", "exclude", "message"),
    [
        (["revenue"], [], [], "--numeric revenue: the file has no column of this name"),
        ([], ["nope"], [], "--categorical nope: the file has no column of this name"),
        (["size"], ["size"], [], "size: named both --numeric and --categorical"),
        (["size"], [], ["size"], "--numeric size: this column is the target or an id"),
        (["city"], [], [], "--numeric city: row 2: 'Paris' is not a number"),
    ],
)
def test_bad_overrides_are_refused_naming_the_column(
    numeric: list[str], categorical: list[str], exclude: list[str], message: str
) -> None:
    table = _table(size=["1", "2"], city=["3", "Paris"])
    with pytest.raises(InvalidInput) as caught:
        infer_features(table, exclude, numeric, categorical)
    assert caught.value.detail == message or caught.value.detail.startswith(message)


def test_a_forced_numeric_column_names_the_file_line_of_a_bad_cell() -> None:
    table = Table(["size"], [["1"], ["lots"]], lines=[2, 7])
    with pytest.raises(InvalidInput) as caught:
        infer_features(table, [], numeric=["size"])
    assert caught.value.detail == "--numeric size: line 7: 'lots' is not a number"
