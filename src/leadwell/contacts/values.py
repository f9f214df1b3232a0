"""Values as people type them into spreadsheets (imports, and forms that accept loose input): head
counts and other whole numbers, dates in their many spellings, and names (split, titles dropped,
capitals put back).

These parsers live apart from :mod:`leadwell.contacts.fields`, which checks a contact's fields as the
API and the web forms take them, so that each module stays small enough to read in one sitting.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from leadwell.errors import InvalidInput

_GROUPED = re.compile(r"^[1-9]\d{0,2}(?:([,.' \u00a0\u202f])\d{3})(?:\1\d{3})*$")
_DECIMAL = re.compile(r"^\d+(?:[.,]\d+)?$")
_SCALES = {"": 1, "k": 1_000, "m": 1_000_000, "mm": 1_000_000, "mio": 1_000_000}
_SCALED = re.compile(r"^(.*?\d)\s*(k|m|mm|mio)?\.?$", re.IGNORECASE)
_COUNT_NOISE = re.compile(
    r"\b(?:employees?|people|persons?|staff|ppl|emp|mitarbeiter(?:innen)?)\b\.?|^(?:approx\.?|about|around|ca\.?|~)",
    re.IGNORECASE,
)
_RANGE = re.compile(r"^(.+?)(?:\s*[-–—]\s*|\s+(?:to|bis)\s+)(.+)$", re.IGNORECASE)
_BOUND = re.compile(
    r"^(?P<op>>=|≥|at least|min\.?|minimum|>|more than|over|above|greater than|<=|≤|up to|max\.?|maximum"
    r"|<|less than|under|below|fewer than)\s*(?P<n>.+)$",
    re.IGNORECASE,
)
_AT_LEAST = {">=", "≥", "at least", "min", "min.", "minimum"}
_ABOVE = {">", "more than", "over", "above", "greater than"}
_AT_MOST = {"<=", "≤", "up to", "max", "max.", "maximum"}
_SOLO = {"self employed", "self-employed", "freelance", "freelancer", "just me", "solo", "sole trader"}


def parse_count(text: str, field: str = "employees") -> int:
    """A whole number as people write it: "1,200", "1.200" and "12 000" (grouped thousands), "1.2k", "3M"."""
    match = _SCALED.match(text.strip())
    if match:
        number, scale = match.group(1), _SCALES[(match.group(2) or "").lower()]
        if scale == 1 and _GROUPED.match(number):
            # Three-digit groups mean thousands even with a dot: a head count of "1.200" is not 1.2
            # (but with a unit, "1.250k", the dot is a decimal point).
            return int(re.sub(r"\D", "", number))
        if _DECIMAL.match(number):
            value = Decimal(number.replace(",", ".")) * scale
            if value == value.to_integral_value():
                return int(value)
    raise InvalidInput(f"{field}: {text[:40]!r} is not a whole number", field=field)


def parse_employees(text: str, field: str = "employees") -> tuple[int | None, int | None, int | None]:
    """(exact, minimum, maximum) head count: "250" -> (250, 250, 250), "100-250" -> (None, 100, 250),
    "500+" -> (None, 500, None), "more than 500" -> (None, 501, None), "under 10" -> (None, 1, 9)."""
    cleaned = " ".join(_COUNT_NOISE.sub(" ", text).split())
    if cleaned.lower() in _SOLO:
        return 1, 1, 1
    if cleaned.endswith("+"):
        return None, parse_count(cleaned[:-1], field), None
    bound = _BOUND.match(cleaned)
    if bound:
        op, number = bound.group("op").lower(), parse_count(bound.group("n"), field)
        if op in _AT_LEAST:
            return None, number, None
        if op in _ABOVE:
            return None, number + 1, None
        top = number if op in _AT_MOST else number - 1  # "under 10" is at most 9
        if top < 1:
            raise InvalidInput(f"{field}: {text[:40]!r} leaves no possible size", field=field)
        return None, 1, top
    span = _RANGE.match(cleaned)
    if span:
        low, high = parse_count(span.group(1), field), parse_count(span.group(2), field)
        if low > high:
            raise InvalidInput(f"{field}: {text[:40]!r} is a range from high to low", field=field)
        return (low, low, low) if low == high else (None, low, high)
    exact = parse_count(cleaned, field)
    return exact, exact, exact


class AmbiguousDate(InvalidInput):
    """A numeric date that reads both as day/month and as month/day, such as "03/04/2024"."""


_MONTH_NAMES = (
    "january jan januar jänner|february feb februar|march mar märz mär maerz mrz|april apr|may mai|"
    "june jun juni|july jul juli|august aug|september sep sept|october oct oktober okt|november nov|"
    "december dec dezember dez"
)
_MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES.split("|"), 1) for name in names.split()}
_TIME = (
    r"(?:(?:\s*,\s*|\s+|T|\s+at\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?"
    r"\s*(?P<ampm>[ap]\.?\s?m\.?)?\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2}|[A-Z]{2,5})?)?$"
)
_WEEKDAY = r"(?:[a-z]+,?\s+)?"
_ISO_DATE = re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME, re.IGNORECASE)
_NUMERIC_DATE = re.compile(
    r"^(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})" + _TIME, re.IGNORECASE
)
_NAMED_DATES = (
    re.compile(
        _WEEKDAY
        + r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\.?[\s-]+(?P<mon>[^\W\d_]+)\.?,?[\s-]+(?P<y>\d{4}|\d{2})"
        + _TIME,
        re.IGNORECASE,
    ),
    re.compile(
        _WEEKDAY + r"(?P<mon>[^\W\d_]+)\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})" + _TIME,
        re.IGNORECASE,
    ),
)


def date_order_hint(text: str) -> bool | None:
    """What one numeric date says about its column: True day first ("31/05"), False month first
    ("05/31"), None when it cannot tell."""
    match = _NUMERIC_DATE.match(text.strip())
    if match is None:
        return None
    first, second = int(match["a"]), int(match["b"])
    return True if first > 12 >= second else False if second > 12 >= first else None


def parse_date(text: str, day_first: bool | None = None, field: str = "date") -> str:
    """ISO 8601 text ("2024-05-31", "2024-05-31T14:05:00") for a date written in a common way.

    Numeric dates use ``day_first`` when they could be read both ways, and raise :class:`AmbiguousDate`
    when it is None; dotted dates ("31.05.2024") are always day first."""
    value = text.strip()
    match = _ISO_DATE.match(value)
    if match:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    elif match := _NUMERIC_DATE.match(value):
        first, second, year = int(match["a"]), int(match["b"]), int(match["y"])
        hint = date_order_hint(value)
        if (
            hint is None
            and max(first, second) <= 12
            and first != second
            and day_first is None
            and match["sep"] != "."
        ):
            raise AmbiguousDate(f"{field}: {value[:40]!r} could be day/month or month/day", field=field)
        reads_day_first = hint if hint is not None else (day_first is not False or match["sep"] == ".")
        day, month = (first, second) if reads_day_first else (second, first)
    else:
        match = next((m for pattern in _NAMED_DATES if (m := pattern.match(value))), None)
        month = _MONTHS.get(match["mon"].lower(), 0) if match else 0
        if match is None or not month:
            raise InvalidInput(f"{field}: {value[:40]!r} is not a date", field=field)
        year, day = int(match["y"]), int(match["d"])
    if year < 100:
        year += 2000 if year < 70 else 1900
    return _iso(value, match, year, month, day, field)


def _iso(value: str, match: re.Match[str], year: int, month: int, day: int, field: str) -> str:
    try:
        if match["h"] is None:
            return date(year, month, day).isoformat()
        hour = int(match["h"])
        if match["ampm"]:
            if hour > 12:
                raise ValueError("hour over 12 with am/pm")
            hour = hour % 12 + (12 if match["ampm"][0].lower() == "p" else 0)
        moment = datetime(year, month, day, hour, int(match["mi"]), int(match["s"] or 0))
    except ValueError:
        raise InvalidInput(f"{field}: {value[:40]!r} is not a real date", field=field) from None
    zone = (match["tz"] or "").upper()
    if zone in ("Z", "UTC", "GMT"):
        return moment.isoformat() + "Z"
    if zone[:1] in "+-" and zone:
        digits = zone[1:].replace(":", "")
        return f"{moment.isoformat()}{zone[0]}{digits[:2]}:{digits[2:]}"
    return moment.isoformat()  # a named zone ("EST") cannot be pinned to an offset: kept as local time


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_HONORIFICS = _words("dr mr mrs ms miss mx prof sir dame rev herr frau mme mlle")
_GENERATIONS = _words("jr sr ii iii iv")
# Dotted "M.A." only: "Ma" alone is a surname.
_DEGREES = _words("phd ph.d md m.d mba esq cpa dds msc bsc m.a b.a mph pmp")
_PARTICLES = _words(
    "van von der den de da di del della des du la le ter ten bin ibn al el dos das zu vom zum"
)
_ROMAN = _words("ii iii iv vi vii viii")


def _bare(token: str) -> str:
    return token.strip(".,").lower()


def split_full_name(text: str) -> tuple[str, str]:
    """(first, last) from one name: "Smith, John" -> John / Smith; "Dr. Jane van der Berg" -> Jane /
    van der Berg (honorifics and degrees dropped, particles kept with the last name)."""
    head, _, tail = " ".join(text.split()).partition(",")
    tail_words = tail.split()
    if tail_words and not all(_bare(word) in _GENERATIONS | _DEGREES for word in tail_words):
        return " ".join(_without_titles(tail_words)), " ".join(_without_titles(head.split()))
    words = _without_titles(head.split() + [word for word in tail_words if _bare(word) in _GENERATIONS])
    if len(words) < 2:
        return (words[0] if words else ""), ""
    end = len(words) - 1
    if _bare(words[end]) in _GENERATIONS and end > 1:
        end -= 1  # "John Smith Jr.": the suffix stays with the last name
    start = end
    while start > 1 and _bare(words[start - 1]) in _PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


def _without_titles(words: list[str]) -> list[str]:
    """Honorifics in front and degrees behind dropped, unless nothing else is left."""
    while len(words) > 1 and _bare(words[0]) in _HONORIFICS:
        words = words[1:]
    while len(words) > 1 and _bare(words[-1]) in _DEGREES:
        words = words[:-1]
    return words


def tidy_name(text: str) -> str:
    """Whitespace collapsed; a name typed in all capitals or all lower case gets capitals where names
    usually have them (McDonald, O'Brien, Anne-Marie, "van der" inside a name). Mixed case is kept."""
    name = " ".join(text.split())
    if not (name.isupper() or name.islower()):
        return name
    return " ".join(_tidy_word(word, index) for index, word in enumerate(name.lower().split(" ")))


def _tidy_word(word: str, index: int) -> str:
    bare = word.strip(".,")
    if index and bare in _PARTICLES:
        return word
    if bare in _ROMAN:
        return word.upper()
    return "-".join(_capitalize(part) for part in word.split("-"))


def _capitalize(part: str) -> str:
    if len(part) > 2 and part[1] == "'":  # O'Brien, D'Angelo
        return part[0].upper() + "'" + part[2:].capitalize()
    if len(part) > 3 and part.startswith("mc"):
        return "Mc" + part[2:].capitalize()
    return part.capitalize()
