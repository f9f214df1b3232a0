"""Numbers with units, read the same way from a profile's thresholds and from contacts' custom fields.

Durations are normalised to days (a week is 7, a month 30, a year 365), so "3 months", "12 weeks"
and "90 days" compare equal. Counts accept grouped thousands and k/m suffixes ("1,200", "1.2k").

The database grades with the same grammar: on SQLite through :func:`sqlite_quantity`, registered as
the SQL function ``leadwell_quantity`` on every connection, and on PostgreSQL through a SQL function
of the same name created by migration 0003 from :data:`POSTGRES_PATTERN`. A property test checks that
the PostgreSQL function and :func:`text_quantity` agree.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import Any

# One pattern for both databases, applied to the text with A–Z made small: a number, then up to two
# words ("1.2k", "3 months", "2k days"). [0-9] and [ \t] rather than \d and \s, which differ by
# engine; no bounded repeats or alternations, which make PostgreSQL's engine several times slower.
_BODY = r"^[ \t]*(-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)[ \t]*([a-z]*)[ \t]*([a-z]*)[ \t]*"
POSTGRES_PATTERN = _BODY + "$"
# Python's $ also matches before a final newline; \Z is the end of the text, as $ is in PostgreSQL.
_QUANTITY = re.compile(_BODY + r"\Z")
MAX_TEXT = 64  # longer text is not a number someone typed; it also bounds the digits to compute with
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
SCALES = {"k": Decimal(1000), "m": Decimal(1_000_000)}
DAYS = {
    "d": 1,
    "day": 1,
    "days": 1,
    "w": 7,
    "wk": 7,
    "wks": 7,
    "week": 7,
    "weeks": 7,
    "mo": 30,
    "mos": 30,
    "month": 30,
    "months": 30,
    "y": 365,
    "yr": 365,
    "yrs": 365,
    "year": 365,
    "years": 365,
}
# Names a criterion's ``unit`` may take: what a bare number in the contact's data means.
UNIT_NAMES = {name: DAYS[name] for name in DAYS if len(name) > 3 or name == "day"}


@dataclass(frozen=True)
class Scale:
    """How a criterion reads numbers: plain counts (``durations`` False, bare 1), or durations in days
    where a number written without a unit is in ``bare`` days (30 for ``unit = "months"``)."""

    durations: bool = False
    bare: int = 1

    @property
    def suffix(self) -> str:
        return " days" if self.durations else ""


COUNT = Scale()


@dataclass(frozen=True)
class Amount:
    """A number as written, scaled by k/m, with the duration word that followed it (lower case)."""

    number: Decimal
    unit: str | None


def parse_amount(text: str) -> Amount | None:
    """ "1,200" -> 1200, "1.2k" -> 1200, "3 months" -> 3 with unit "months"; None when unreadable."""
    if len(text) > MAX_TEXT:
        return None
    match = _QUANTITY.match(text.translate(_ASCII_LOWER))
    if match is None:
        return None
    first, second = match.group(2), match.group(3)
    if first in SCALES:
        scale, unit = SCALES[first], second
    elif second:
        return None  # two words, and the first is no multiplier: "3 months ago"
    else:
        scale, unit = Decimal(1), first
    if unit and unit not in DAYS:
        return None
    with localcontext(prec=100):  # exact: at most 64 digits times a million
        return Amount(Decimal(match.group(1).replace(",", "")) * scale, unit or None)


def text_quantity(text: str, bare: int, durations: bool) -> float | None:
    """A contact's text value as a number in the criterion's base (days for durations), or None.

    A duration word in a count criterion makes the value unreadable rather than silently wrong."""
    amount = parse_amount(text)
    if amount is None:
        return None
    with localcontext(prec=100):
        if amount.unit is None:
            return float(amount.number * bare)
        if not durations:
            return None
        return float(amount.number * DAYS[amount.unit])


def _number(value: Any) -> Decimal | None:
    """A JSON number as an exact decimal (floats through their shortest repr, as JSON stores them)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return None


def quantity(value: Any, scale: Scale) -> float | None:
    """A custom field's value (text or number) read as a number in ``scale``'s base, or None."""
    if isinstance(value, str):
        return text_quantity(value, scale.bare, scale.durations)
    number = _number(value)
    return None if number is None else float(number * scale.bare)


@lru_cache(maxsize=16_384)
def sqlite_quantity(element: str | None, bare: int, durations: int) -> float | None:
    """``leadwell_quantity(custom -> '$.key', bare, durations)`` on SQLite: the element's JSON text in,
    the same number :func:`quantity` gives out (JSON text keeps a float's exact digits). Remembered:
    custom fields repeat the same few values, and the function is pure."""
    if element is None:
        return None
    try:
        value = json.loads(element)
    except ValueError:
        return None
    if isinstance(value, float):
        number = Decimal(element.strip())
        return float(number * bare)
    return quantity(value, Scale(bool(durations), bare))


def format_number(number: Decimal | float | int) -> str:
    """A threshold for people: 100, 1.5, 90 (no exponent, no trailing zeros)."""
    value = Decimal(repr(number)) if isinstance(number, float) else Decimal(number)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")
