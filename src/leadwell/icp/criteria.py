"""One criterion compiled: its field, operator and values checked, thresholds normalised to numbers.

Errors name the exact place in the file (``must[1].value: …``), counting from 0 as the API does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from leadwell.errors import InvalidInput
from leadwell.icp.fields import ALLOWED, NUMBER_OPS, OPERATORS, FieldRef, Kind, resolve
from leadwell.icp.reading import custom_text, fold
from leadwell.icp.regex import SafePattern, check_pattern
from leadwell.icp.units import COUNT, DAYS, UNIT_NAMES, Amount, Scale, format_number, parse_amount

MAX_VALUES = 200
_SYMBOLS = {"gte": "≥", "lte": "≤"}


@dataclass(frozen=True)
class Criterion:
    """A checked criterion. Numbers are in the field's base (days for durations); ``texts`` are the
    case-folded values of in/not_in/contains; ``threshold`` is what a note about a range shows."""

    kind: str  # "must" or "nice"
    index: int
    field: FieldRef
    op: str
    label: str
    weight: int | None = None
    texts: tuple[str, ...] = ()
    pattern: SafePattern | None = None
    low: float | None = None
    high: float | None = None
    scale: Scale = COUNT
    threshold: str = ""

    @property
    def where(self) -> str:
        return f"{self.kind}[{self.index}]"

    @property
    def numeric(self) -> bool:
        return self.op in NUMBER_OPS


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}", field=where)


def _check_op(field: FieldRef, op: str, where: str) -> None:
    if op not in OPERATORS:
        raise _fail(f"{where}.op", f"unknown operator {op[:20]!r}; use {', '.join(OPERATORS)}")
    if op not in ALLOWED[field.kind]:
        what = {Kind.TEXT: "text", Kind.TAGS: "a list of tags", Kind.RANGE: "a number"}[field.kind]
        allowed = ", ".join(ALLOWED[field.kind])
        raise _fail(f"{where}.op", f"{op} does not apply to {field.path} ({what}); use {allowed}")


def compile_criterion(kind: str, index: int, raw: dict[str, Any]) -> Criterion:
    """Check one ``[[must]]``/``[[nice]]`` table (already shape-checked) and compile it."""
    where = f"{kind}[{index}]"
    field = resolve(raw["field"], f"{where}.field")
    op = raw["op"]
    _check_op(field, op, where)
    if "unit" in raw and not (field.kind is Kind.CUSTOM and op in NUMBER_OPS):
        raise _fail(f"{where}.unit", "only a custom field compared with gte, lte or between takes a unit")
    base = Criterion(kind, index, field, op, "", raw.get("weight") if kind == "nice" else None)
    value = raw.get("value")
    if op == "is_set":
        if value is not None:
            raise _fail(f"{where}.value", "is_set takes no value")
        compiled = base
    elif op in NUMBER_OPS:
        compiled = _numeric(base, value, raw.get("unit"))
    else:
        compiled = _textual(base, value)
    label = raw.get("label") or _label(compiled, value)
    return Criterion(**{**compiled.__dict__, "label": label})


def _amount(value: Any, where: str) -> Amount:
    if isinstance(value, str):
        amount = parse_amount(value)
        if amount is not None:
            return amount
    elif isinstance(value, int) and not isinstance(value, bool):
        return Amount(Decimal(value), None)
    elif isinstance(value, float) and math.isfinite(value):
        return Amount(Decimal(repr(value)), None)
    shown = repr(value)[:40]
    raise _fail(where, f'{shown} is not a number (write 100, "1,200", "1.2k" or "3 months")')


def _scale(field: FieldRef, amounts: list[Amount], unit: str | None, where: str) -> Scale:
    """Counts, or durations in days: a declared ``unit`` says what bare numbers in the data mean;
    without one, the unit written in the threshold does ("3 months": bare 4 is 4 months)."""
    if unit is not None:
        if unit.lower() not in UNIT_NAMES:
            raise _fail(f"{where}.unit", f"unknown unit {unit!r}; use days, weeks, months or years")
        return Scale(True, UNIT_NAMES[unit.lower()])
    written = [amount.unit for amount in amounts if amount.unit]
    if written and field.kind is Kind.RANGE:
        raise _fail(f"{where}.value", f"{written[0]!r} is a duration, but {field.path} is a count")
    return Scale(True, DAYS[written[0]]) if written else COUNT


def _numeric(base: Criterion, value: Any, unit: str | None) -> Criterion:
    where = base.where
    if base.op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _fail(f"{where}.value", "between takes [low, high]")
        amounts = [_amount(item, f"{where}.value[{i}]") for i, item in enumerate(value)]
    else:
        amounts = [_amount(value, f"{where}.value")]
    scale = _scale(base.field, amounts, unit, where)
    numbers = [amount.number * (DAYS[amount.unit] if amount.unit else scale.bare) for amount in amounts]
    if len(numbers) == 2 and numbers[0] > numbers[1]:
        raise _fail(f"{where}.value", "between takes [low, high], low first")
    low = float(numbers[0]) if base.op in ("gte", "between") else None
    high = float(numbers[-1]) if base.op in ("lte", "between") else None
    threshold = " and ".join(format_number(number) for number in numbers) + scale.suffix
    return Criterion(**{**base.__dict__, "low": low, "high": high, "scale": scale, "threshold": threshold})


def _textual(base: Criterion, value: Any) -> Criterion:
    where = f"{base.where}.value"
    if base.op == "matches":
        if not isinstance(value, str):
            raise _fail(where, "matches takes a pattern in quotes")
        return Criterion(**{**base.__dict__, "pattern": check_pattern(value, where)})
    if base.op == "contains":
        if not isinstance(value, str) or value == "":
            raise _fail(where, "contains takes a non-empty text")
        return Criterion(**{**base.__dict__, "texts": (fold(value),)})
    if not isinstance(value, list) or not value:
        raise _fail(where, f'{base.op} takes a list, e.g. ["DE", "AT"]')
    if len(value) > MAX_VALUES:
        raise _fail(where, f"at most {MAX_VALUES} values")
    texts = []
    for position, item in enumerate(value):
        text = custom_text(item) if isinstance(item, str | int) else None
        if text is None:
            raise _fail(f"{where}[{position}]", "a value is a non-empty text, a whole number or true/false")
        texts.append(fold(text))
    return Criterion(**{**base.__dict__, "texts": tuple(dict.fromkeys(texts))})


def _label(criterion: Criterion, value: Any) -> str:
    """Human text: "employees ≥ 100", "roi between 30 and 90 days", "country in DE, AT"."""
    name, op = criterion.field.label, criterion.op
    if op in _SYMBOLS:
        return f"{name} {_SYMBOLS[op]} {criterion.threshold}"
    if op == "between":
        return f"{name} between {criterion.threshold}"
    if op == "is_set":
        return f"{name} is set"
    if op in ("in", "not_in"):
        shown = ", ".join(str(custom_text(item)) for item in value)
        return f"{name} {'in' if op == 'in' else 'not in'} {shown}"
    return f"{name} {op} {value}"
