"""Field-level cleaning shared by the API, the web forms and (later) imports."""

from __future__ import annotations

import re
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


# --- Fast paths for imports (values as people type them are parsed in leadwell.contacts.values) ---

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
