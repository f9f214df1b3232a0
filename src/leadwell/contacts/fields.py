"""Field-level cleaning shared by the API, the web forms and (later) imports."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from leadwell.auth.accounts import normalize_email
from leadwell.errors import InvalidInput

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}
MAX_CUSTOM_FIELDS = 100


def clean_emails(addresses: list[str], field: str = "emails") -> list[str]:
    """Normalised, de-duplicated addresses in the given order; names the bad one (``emails[2]``)."""
    seen: list[str] = []
    for index, address in enumerate(addresses):
        normalized = normalize_email(address, field=f"{field}[{index}]")
        if normalized not in seen:
            seen.append(normalized)
    return seen


def clean_phones(numbers: list[str], default_region: str | None = None, field: str = "phones") -> list[str]:
    """Phone numbers in E.164; without a default region a number must start with '+'."""
    cleaned: list[str] = []
    for index, number in enumerate(numbers):
        try:
            parsed = phonenumbers.parse(number, default_region)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_possible_number(parsed):
            raise InvalidInput(
                f"{field}[{index}]: {number[:40]!r} is not a phone number (use +<country code>…)",
                field=f"{field}[{index}]",
            )
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in cleaned:
            cleaned.append(e164)
    return cleaned


def clean_country(code: str | None, field: str = "country") -> str | None:
    if code is None or not code.strip():
        return None
    upper = code.strip().upper()
    if upper not in COUNTRY_CODES:
        raise InvalidInput(f"{field}: {code[:20]!r} is not an ISO 3166 alpha-2 country code", field=field)
    return upper


def clean_domain(domain: str | None, field: str = "domain") -> str | None:
    """A bare lowercase host name: scheme, path and a leading ``www.`` are dropped."""
    if domain is None or not domain.strip():
        return None
    host = domain.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host).split("/")[0].split(":")[0]
    host = host.removeprefix("www.")
    if not _DOMAIN_RE.match(host):
        raise InvalidInput(f"{field}: {domain[:60]!r} is not a domain name", field=field)
    return host


def clean_timezone(name: str | None, field: str = "timezone") -> str | None:
    if name is None or not name.strip():
        return None
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{field}: {name[:40]!r} is not an IANA time zone", field=field) from None
    return name.strip()


def clean_custom(custom: dict[str, Any], field: str = "custom") -> dict[str, Any]:
    """Custom fields: up to 100 keys of letters, digits and ``_``; scalar or list-of-scalar values."""
    if len(custom) > MAX_CUSTOM_FIELDS:
        raise InvalidInput(f"{field}: at most {MAX_CUSTOM_FIELDS} custom fields", field=field)
    for key, value in custom.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", key):
            raise InvalidInput(f"{field}.{key[:40]}: names use letters, digits and _", field=f"{field}.{key}")
        values = value if isinstance(value, list) else [value]
        if not all(item is None or isinstance(item, str | int | float | bool) for item in values):
            raise InvalidInput(
                f"{field}.{key}: values are text, numbers, booleans or lists of them", field=f"{field}.{key}"
            )
    return custom


def clean_tags(tags: list[str], field: str = "tags") -> list[str]:
    """Trimmed, de-duplicated tags (case kept, compared without case), each 1–60 characters."""
    kept: list[str] = []
    seen: set[str] = set()
    for index, tag in enumerate(tags):
        text = tag.strip()
        if not 1 <= len(text) <= 60:
            raise InvalidInput(f"{field}[{index}]: a tag has 1 to 60 characters", field=f"{field}[{index}]")
        if text.lower() not in seen:
            seen.add(text.lower())
            kept.append(text)
    return kept


# --- Values as people type them into spreadsheets (imports, and forms that accept loose input) ---

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


# An address in this form gets the same answer from email-validator (checked by a property test), so
# the common case skips its ~20 µs; anything else (Unicode, quotes, IDNA, special-use names) is
# validated in full.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def fast_normalize_email(address: str, field: str = "email") -> str:
    """Like :func:`normalize_email`, many times faster for addresses already in plain form."""
    lowered = address.strip().lower()
    if _PLAIN_EMAIL.fullmatch(lowered) and len(lowered) <= 254:
        local, _, domain = lowered.partition("@")
        if len(local) <= 64 and "--" not in domain and domain.rpartition(".")[2] not in _SPECIAL_USE_TLDS:
            return lowered
    return normalize_email(address, field=field)


_PHONE_FORMATTING = re.compile(r"[\s().\-/\u00a0\u2010-\u2015]")
_PHONE_DIGITS = re.compile(r"\+?\d{4,17}")
# How many leading characters decide how the rest of a number is rewritten (found by comparing with
# libphonenumber over every region's example numbers): 7 with a country code, 5 for national numbers,
# 7 where a region rewrites national numbers by rule (Argentina's mobile "15", ...).
_PATTERN_DIGITS = 7
_NATIONAL_PATTERN_DIGITS = 5
_phone_patterns: dict[tuple[str | None, str, int], tuple[str, int]] = {}


@lru_cache(maxsize=512)
def _national_rule(region: str | None) -> str | None:
    """The region's calling code when its national numbers can use the short pattern, else None.

    National numbers that start with the calling code ("4930..." in Germany) stay on the long
    pattern: libphonenumber decides whether to strip the code by checking the whole number."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region or "", None)
    if metadata is None or metadata.national_prefix_transform_rule is not None:
        return None
    return str(metadata.country_code)


def phone_to_e164(number: str, region: str | None = None) -> str | None:
    """The number in E.164, or None when it is not a possible number (extensions must be removed first).

    libphonenumber costs ~13 µs a number; numbers that share a region, their first digits and their
    length are rewritten the same way (the prefix replaced, the tail kept), so that rewrite is
    remembered and reused."""
    digits = _PHONE_FORMATTING.sub("", number)
    if digits.startswith("00") and not digits.startswith("000"):
        digits = "+" + digits[2:]  # 00 is the international prefix in most of the world
    if not _PHONE_DIGITS.fullmatch(digits):
        return _libphonenumber_e164(number, region)
    calling_code = _national_rule(region) if digits[0] != "+" else None
    national = calling_code is not None and not digits.startswith(calling_code)
    size = _NATIONAL_PATTERN_DIGITS if national else _PATTERN_DIGITS
    key = (region, digits[:size], len(digits))
    pattern = _phone_patterns.get(key)
    if pattern is not None:
        return pattern[0] + digits[pattern[1] :]
    e164 = _libphonenumber_e164(digits, region)
    if e164 is not None:
        kept = 0  # how much of the input's tail survives unchanged
        while kept < len(digits) and kept < len(e164) - 1 and digits[-1 - kept] == e164[-1 - kept]:
            kept += 1
        cut = len(digits) - kept
        if cut <= size:
            if len(_phone_patterns) >= 100_000:  # bounded: ~30 MB at most
                _phone_patterns.clear()
            _phone_patterns[key] = (e164[: len(e164) - kept], cut)
    return e164


def _libphonenumber_e164(number: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
