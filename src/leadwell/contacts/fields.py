"""Field-level cleaning shared by the API, the web forms and (later) imports."""

from __future__ import annotations

import re
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
