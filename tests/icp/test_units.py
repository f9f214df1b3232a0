"""Numbers with units: thresholds and custom values read the same way, durations in days."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadwell.icp.units import (
    COUNT,
    UNIT_NAMES,
    Amount,
    Scale,
    format_number,
    parse_amount,
    quantity,
    sqlite_quantity,
    text_quantity,
)

MONTHS = Scale(durations=True, bare=30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", Amount(Decimal(100), None)),
        ("1,200", Amount(Decimal(1200), None)),
        ("12,345,678", Amount(Decimal(12345678), None)),
        ("1.2k", Amount(Decimal("1200.0"), None)),
        ("3M", Amount(Decimal(3_000_000), None)),
        ("-2", Amount(Decimal(-2), None)),
        ("3 months", Amount(Decimal(3), "months")),
        ("  12 Weeks\t", Amount(Decimal(12), "weeks")),
        ("1.5y", Amount(Decimal("1.5"), "y")),
        ("90 days", Amount(Decimal(90), "days")),
    ],
)
def test_amounts_people_write(text: str, expected: Amount) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    "text", ["", "n/a", "1,20", "1.2.3", "3 fortnights", "about 3", "3 months ago", "1e5", "12\n", "٣"]
)
def test_unreadable_amounts(text: str) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "days"),
    [("3 months", 90), ("12 weeks", 84), ("90 days", 90), ("1 year", 365), ("2 yrs", 730), ("4", 120)],
)
def test_durations_become_days(text: str, days: float) -> None:
    assert text_quantity(text, MONTHS.bare, MONTHS.durations) == days
    assert quantity(text, MONTHS) == days


def test_a_duration_in_a_count_is_unreadable_not_wrong() -> None:
    assert quantity("3 months", COUNT) is None
    assert quantity("1.2k", COUNT) == 1200


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 90.0), (0.5, 15.0), (True, None), (None, None), ([3], None), ({"a": 1}, None), (float("nan"), None)],
)
def test_json_values(value: object, expected: float | None) -> None:
    assert quantity(value, MONTHS) == expected


def test_fractions_are_exact_before_the_last_rounding() -> None:
    # 0.1 × 30 in binary floating point is 3.0000000000000004; read as decimals it is 3.
    assert quantity(0.1, MONTHS) == 3.0
    assert sqlite_quantity("0.1", 30, 1) == 3.0
    assert sqlite_quantity('"3 months"', 1, 1) == 90.0
    assert sqlite_quantity("true", 1, 1) is None
    assert sqlite_quantity(None, 1, 1) is None
    assert sqlite_quantity("not json", 1, 1) is None


def test_unit_names_and_formatting() -> None:
    assert UNIT_NAMES["months"] == 30 and UNIT_NAMES["year"] == 365 and "mo" not in UNIT_NAMES
    assert format_number(Decimal("90.0")) == "90"
    assert format_number(1.5) == "1.5"
    assert format_number(Decimal("1E+3")) == "1000"
