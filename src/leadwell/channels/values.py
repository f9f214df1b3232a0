"""Reading what people type and what ad platforms export: source keys, amounts, currencies, dates."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from leadwell.errors import InvalidInput

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# What sits around a number in an export: currency symbols and codes, spaces (also non-breaking).
_SYMBOLS_RE = re.compile(r"[\s\u00a0\u202f$€£¥]")
_CODE_RE = re.compile(r"^[A-Za-z]{3}(?=[\d.,])|(?<=[\d.,])[A-Za-z]{3}$")
_NUMBER_RE = re.compile(r"^\d+(\.\d+)?$")
# How platforms write "nothing here".
BLANKS = ("", "-", "--", "—", "–", "n/a", "N/A")
CENT = Decimal("0.01")
_TEXT_DATE_FORMATS = ("%b %d, %Y", "%d %b %Y", "%B %d, %Y", "%d %B %Y", "%Y/%m/%d")


def normalize_key(key: str) -> str:
    """A source key as stored: trimmed and lower-cased."""
    return key.strip().lower()


def parse_amount(text: str) -> Decimal | None:
    """An amount from "1,234.56", "$1,234.56", "1234,56" or "1.234,56" (the last separator is the
    decimal one; a lone comma is a decimal comma, except before exactly three digits: "1,500" is
    fifteen hundred); None for a blank cell. Raises ValueError."""
    raw = text.strip()
    if raw in BLANKS:
        return None
    negative = raw.startswith("-") or (raw.startswith("(") and raw.endswith(")"))
    cleaned = _CODE_RE.sub("", _SYMBOLS_RE.sub("", raw.strip("()").lstrip("-")))
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        cleaned = cleaned.replace(thousands, "").replace(decimal_mark, ".")
    elif cleaned.count(",") > 1 or re.match(r"^\d{1,3},\d{3}$", cleaned):
        # 1,234,567 and 1,500: thousands (a decimal comma has one or two digits after it: 1234,56)
        cleaned = cleaned.replace(",", "")
    else:
        cleaned = cleaned.replace(",", ".")
    if not _NUMBER_RE.match(cleaned):
        raise ValueError(text)
    try:
        value = Decimal(cleaned).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(text) from None
    return -value if negative else value


def parse_currency(text: str, field: str = "currency") -> str:
    """An ISO 4217 code, upper-cased; InvalidInput naming ``field`` otherwise."""
    code = text.strip().upper()
    if not CURRENCY_RE.match(code):
        raise InvalidInput(f"{field}: {text.strip()!r} is not a currency code (3 letters, like USD)", field)
    return code


def parse_date(text: str, month_first: bool = False) -> date:
    """A day from ISO ("2026-03-11", also followed by a time), from m/d/Y when ``month_first``
    (LinkedIn's "11/3/2026" is 3 November 2026) else d/m/Y, or from "Mar 11, 2026". Raises ValueError."""
    raw = text.strip()
    iso = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ])", raw)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
        return date(year, month, day)
    slashed = re.match(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$", raw)
    if slashed:
        first, second, year = (int(part) for part in slashed.groups())
        month, day = (first, second) if month_first else (second, first)
        return date(year, month, day)
    for pattern in _TEXT_DATE_FORMATS:
        try:
            return datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def money(amount: Decimal, currency: str) -> str:
    """ "USD 1,234.56"."""
    return f"{currency} {amount:,.2f}"
