"""Audience export: a starting ad-targeting spec for Meta or LinkedIn from an ICP's avatar, and customer
lists normalised and hashed the way Meta (Custom Audiences) and LinkedIn (Matched Audiences) match them.

Pure functions over plain values: nothing here reads or writes the database. The rules, with examples,
are in docs/audience.md.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from leadwell.contacts.fields import COUNTRY_CODES, phone_to_e164
from leadwell.errors import InvalidInput

Platform = Literal["meta", "linkedin"]
META_AGE_MIN = 18
META_AGE_MAX = 65  # Meta's age_max of 65 means "65 and over"


def _bucket(label: str) -> tuple[str, int, float]:
    """'11-50' → ('11-50', 11, 50); '55+' → ('55+', 55, inf); '1' → ('1', 1, 1)."""
    low, _, high = label.removesuffix("+").partition("-")
    return label, int(low), math.inf if label.endswith("+") else int(high or low)


# LinkedIn's company-size (staff count) and age buckets.
LINKEDIN_COMPANY_SIZES = tuple(
    map(_bucket, ["1", "2-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10001+"])
)
LINKEDIN_AGE_RANGES = tuple(map(_bucket, ["18-24", "25-34", "35-54", "55+"]))
META_COLUMNS = ("email", "phone", "fn", "ln", "ct", "st", "zip", "country")
LINKEDIN_COLUMNS = ("email", "firstname", "lastname", "jobtitle", "employeecompany", "country", "googleaid")
NOTES: dict[str, str] = {
    "meta": (
        "A starting spec to paste into Ads Manager or adapt for the Marketing API: interests, work "
        "positions, industries and cities are given by name; the API wants the ids its targeting search "
        "returns for them."
    ),
    "linkedin": (
        "A starting spec to paste into Campaign Manager or adapt for the Marketing API: locations, job "
        "titles, industries and interests are given by name; the API wants the URNs its typeahead returns."
    ),
}
COUNTRY_ALIASES = {"UK": "GB"}  # common in data, though GB is the ISO 3166 code
LINKEDIN_NAME_MAX = 35
LINKEDIN_TEXT_MAX = 50
_SIZE = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)\s*(?:(\+)|[-\u2013]\s*(\d{1,3}(?:,\d{3})+|\d+))?")
_US_ZIP = re.compile(r"(\d{5})(?:[\s-]?\d{4})?")


# --- Targeting spec ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Avatar:
    roles: list[str]
    industries: list[str]
    interests: list[str]
    countries: list[str]
    cities: list[dict[str, str]]
    sizes: list[tuple[int, float]]
    age_min: int | None
    age_max: int | None


def targeting_spec(avatar: Mapping[str, Any], platform: Platform) -> dict[str, Any]:
    """A JSON-ready starting targeting spec for ``platform``; raises InvalidInput naming the bad key.

    Keys with nothing to target are left out. ``adjustments`` says what was changed or dropped to fit
    the platform (ages clamped to Meta's 18–65, company sizes Meta cannot target)."""
    parsed = _parse_avatar(avatar)
    adjustments: list[str] = []
    if platform == "meta":
        body = _meta_spec(parsed, adjustments)
    elif platform == "linkedin":
        body = _linkedin_spec(parsed)
    else:
        raise InvalidInput(f"platform: {platform!r} is not meta or linkedin", field="platform")
    return {"platform": platform, "note": NOTES[platform], **body, "adjustments": adjustments}


def _meta_spec(avatar: _Avatar, adjustments: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    geo: dict[str, Any] = {}
    if avatar.countries:
        geo["countries"] = avatar.countries
    if avatar.cities:
        geo["cities"] = avatar.cities
    if geo:
        spec["geo_locations"] = geo
    for key, value in (("age_min", avatar.age_min), ("age_max", avatar.age_max)):
        if value is not None:
            spec[key] = min(max(value, META_AGE_MIN), META_AGE_MAX)
            if spec[key] != value:
                adjustments.append(f"{key}: {value} became {spec[key]} (Meta targets ages 18 to 65+)")
    for key, names in (
        ("interests", avatar.interests),
        ("work_positions", avatar.roles),
        ("industries", avatar.industries),
    ):
        if names:
            spec[key] = [{"name": name} for name in names]
    if avatar.sizes:
        adjustments.append("company_sizes: left out (Meta has no company-size targeting)")
    return spec


def _linkedin_spec(avatar: _Avatar) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    locations = [{"country": code} for code in avatar.countries] + avatar.cities
    sizes = [label for label, low, high in LINKEDIN_COMPANY_SIZES if _overlaps(avatar.sizes, low, high)]
    ages: list[str] = []
    if avatar.age_min is not None or avatar.age_max is not None:
        wanted = [(avatar.age_min or 0, math.inf if avatar.age_max is None else avatar.age_max)]
        ages = [label for label, low, high in LINKEDIN_AGE_RANGES if _overlaps(wanted, low, high)]
    for key, value in (
        ("locations", locations),
        ("jobTitles", avatar.roles),
        ("industries", avatar.industries),
        ("companySizes", sizes),
        ("ageRanges", ages),
        ("interests", avatar.interests),
    ):
        if value:
            spec[key] = value
    return spec


def _overlaps(ranges: Sequence[tuple[float, float]], low: float, high: float) -> bool:
    return any(start <= high and low <= end for start, end in ranges)


def _parse_avatar(avatar: Mapping[str, Any]) -> _Avatar:
    countries: list[str] = []
    cities: list[dict[str, str]] = []
    for field, text in _items(avatar, "locations"):
        name, comma, code = text.rpartition(",")
        country = _country_code(code if comma else text)
        if country is None or (comma and not name.strip()):
            raise InvalidInput(
                f"{field}: {text[:60]!r} is not a country code (ISO 3166 alpha-2, like 'US') "
                "or 'City, CC' (like 'San Diego, US')",
                field=field,
            )
        if not comma and country not in countries:
            countries.append(country)
        elif comma and (city := {"name": name.strip(), "country": country}) not in cities:
            cities.append(city)
    age_min, age_max = _ages(avatar)
    return _Avatar(
        roles=_unique(text for _, text in _items(avatar, "roles")),
        industries=_unique(text for _, text in _items(avatar, "industries")),
        interests=_unique(text for _, text in _items(avatar, "interests")),
        countries=countries,
        cities=cities,
        sizes=[_company_size(text, field) for field, text in _items(avatar, "company_sizes")],
        age_min=age_min,
        age_max=age_max,
    )


def _items(avatar: Mapping[str, Any], key: str) -> list[tuple[str, str]]:
    """(field, text) for each non-blank entry of a list-of-text key, spaces collapsed."""
    value = avatar.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"avatar.{key}: expected a list of text", field=f"avatar.{key}")
    items: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        field = f"avatar.{key}[{index}]"
        if not isinstance(item, str):
            raise InvalidInput(f"{field}: expected text", field=field)
        if text := " ".join(item.split()):
            items.append((field, text))
    return items


def _unique(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _company_size(text: str, field: str) -> tuple[int, float]:
    """'11-50' → (11, 50); '1000+' → (1000, inf); '250' → (250, 250)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise InvalidInput(f"{field}: {text[:40]!r} is not a size like '11-50' or '1000+'", field=field)
    low = int(match[1].replace(",", ""))
    high: float = math.inf if match[2] else int((match[3] or match[1]).replace(",", ""))
    if low < 1 or high < low:
        raise InvalidInput(f"{field}: {text!r} is not a range of 1 or more employees", field=field)
    return low, high


def _ages(avatar: Mapping[str, Any]) -> tuple[int | None, int | None]:
    ages: list[int | None] = []
    for key in ("age_min", "age_max"):
        value = avatar.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidInput(f"avatar.{key}: expected a whole number of years", field=f"avatar.{key}")
        ages.append(value)
    age_min, age_max = ages
    if age_min is not None and age_max is not None and age_min > age_max:
        raise InvalidInput(f"avatar.age_min: {age_min} is above age_max {age_max}", field="avatar.age_min")
    if age_max is not None and age_max < META_AGE_MIN:
        field = "avatar.age_max"
        raise InvalidInput(f"{field}: ad platforms target people aged 18 and over", field=field)
    return age_min, age_max


def _country_code(value: str | None) -> str | None:
    """The upper-case ISO 3166 alpha-2 code, or None when ``value`` is not one ('UK' is read as GB)."""
    code = (value or "").strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    return code if code in COUNTRY_CODES else None


# --- Normalisation for customer lists ---------------------------------------------------------------


def sha256_hex(value: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 bytes of ``value``."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalize_email(value: str | None, field: str = "email") -> str:
    """Trimmed and lower-cased; '' for a blank value."""
    text = (value or "").strip().lower()
    if not text:
        return ""
    local, at, domain = text.rpartition("@")
    if not (at and local and "." in domain.strip(".")) or any(char.isspace() for char in text):
        raise InvalidInput(f"{field}: {text[:60]!r} is not an email address", field=field)
    return text


def normalize_phone(value: str | None, default_region: str | None = None, field: str = "phone") -> str:
    """Digits only, country code first, no '+' and no national trunk prefix: '+1 (415) 555-0123' →
    '14155550123'. A number without '+' or '00' takes ``default_region``'s code; without one it is
    rejected."""
    text = (value or "").strip()
    if not text:
        return ""
    e164 = phone_to_e164(text, _region(default_region))
    if e164 is None:
        raise InvalidInput(
            f"{field}: {text[:40]!r} is not a phone number with a country code (+…, or give a region)",
            field=field,
        )
    return e164.removeprefix("+")


def normalize_name(value: str | None) -> str:
    """First or last name: letters only (accents kept, NFC), lower-cased: "O'Brien-Núñez" → 'obriennúñez'."""
    return _letters(value or "", keep_accents=True)


def normalize_city(value: str | None) -> str:
    """Letters only, accents removed, lower-cased, no spaces: 'São Paulo' → 'saopaulo'."""
    return _letters(value or "", keep_accents=False)


def normalize_state(value: str | None, country: str | None, field: str = "st") -> str:
    """In the US the two-letter code, lower-cased ('New York' → 'ny'); elsewhere as a city."""
    key = _letters(value or "", keep_accents=False)
    if not key or _country_code(country) != "US":
        return key
    code = US_STATES.get(key, key if key in US_STATE_CODES else None)
    if code is None:
        raise InvalidInput(f"{field}: {(value or '')[:40]!r} is not a US state", field=field)
    return code


def normalize_zip(value: str | None, country: str | None, field: str = "zip") -> str:
    """US: the first 5 digits ('94103-1234' → '94103'); elsewhere lower-case letters and digits only
    ('SW1A 1AA' → 'sw1a1aa')."""
    text = (value or "").strip().lower()
    if not text:
        return ""
    if _country_code(country) == "US":
        match = _US_ZIP.fullmatch(text)
        if match is None:
            raise InvalidInput(f"{field}: {text[:20]!r} is not a US ZIP code", field=field)
        return match[1]
    return "".join(char for char in text if char.isalnum())


def normalize_country(value: str | None, field: str = "country") -> str:
    """ISO 3166-1 alpha-2, lower-cased: 'US' → 'us' ('UK' → 'gb')."""
    if not (value or "").strip():
        return ""
    code = _country_code(value)
    if code is None:
        raise InvalidInput(f"{field}: {(value or '')[:20]!r} is not an ISO 3166 alpha-2 code", field=field)
    return code.lower()


def _letters(text: str, *, keep_accents: bool) -> str:
    """Lower-cased letters only (Unicode categories L, and M when accents are kept), NFC."""
    lowered = unicodedata.normalize("NFC" if keep_accents else "NFKD", text).lower()
    kept = {"L", "M"} if keep_accents else {"L"}
    return unicodedata.normalize("NFC", "".join(c for c in lowered if unicodedata.category(c)[0] in kept))


def _region(default_region: str | None) -> str | None:
    if not (default_region or "").strip():
        return None
    code = _country_code(default_region)
    if code is None:
        field = "default_region"
        raise InvalidInput(f"{field}: {default_region!r} is not an ISO 3166 alpha-2 code", field=field)
    return code


_US_STATE_NAMES = (
    "AL Alabama|AK Alaska|AZ Arizona|AR Arkansas|CA California|CO Colorado|CT Connecticut|DE Delaware|"
    "DC District of Columbia|DC Washington DC|FL Florida|GA Georgia|HI Hawaii|ID Idaho|IL Illinois|"
    "IN Indiana|IA Iowa|KS Kansas|KY Kentucky|LA Louisiana|ME Maine|MD Maryland|MA Massachusetts|"
    "MI Michigan|MN Minnesota|MS Mississippi|MO Missouri|MT Montana|NE Nebraska|NV Nevada|"
    "NH New Hampshire|NJ New Jersey|NM New Mexico|NY New York|NC North Carolina|ND North Dakota|OH Ohio|"
    "OK Oklahoma|OR Oregon|PA Pennsylvania|RI Rhode Island|SC South Carolina|SD South Dakota|"
    "TN Tennessee|TX Texas|UT Utah|VT Vermont|VA Virginia|WA Washington|WV West Virginia|WI Wisconsin|"
    "WY Wyoming|AS American Samoa|GU Guam|MP Northern Mariana Islands|PR Puerto Rico|"
    "VI US Virgin Islands|VI Virgin Islands|AA Armed Forces Americas|AE Armed Forces Europe|"
    "AP Armed Forces Pacific"
)
US_STATES: dict[str, str] = {
    _letters(name, keep_accents=False): code.lower()
    for code, _, name in (entry.partition(" ") for entry in _US_STATE_NAMES.split("|"))
}
US_STATE_CODES = frozenset(US_STATES.values())


# --- Customer lists ---------------------------------------------------------------------------------


def customer_list_rows(
    contacts: Iterable[Mapping[str, Any]],
    default_region: str | None,
    *,
    issues: list[InvalidInput] | None = None,
) -> Iterator[dict[str, str]]:
    """Meta customer-list rows (``META_COLUMNS``), every cell the SHA-256 of its normalised value.

    Each contact gives its first usable email and phone. A value that cannot be normalised leaves its
    cell empty and, when ``issues`` is a list, is recorded there (``contacts[3].phones[0]``); a contact
    with no email, no phone and not both names is left out. ``default_region`` is the country of phone
    numbers written without a country code, and of a contact without a country for the state and ZIP
    rules."""
    region = _region(default_region)
    return _meta_rows(contacts, region, issues)


def _meta_rows(
    contacts: Iterable[Mapping[str, Any]], region: str | None, issues: list[InvalidInput] | None
) -> Iterator[dict[str, str]]:
    for index, contact in enumerate(contacts):
        where = f"contacts[{index}]"
        country = _attempt(issues, normalize_country, contact.get("country"), f"{where}.country")
        place = country or (region or "")
        values = {
            "email": _first(contact, "emails", where, issues),
            "phone": _first(contact, "phones", where, issues, region),
            "fn": normalize_name(contact.get("first_name")),
            "ln": normalize_name(contact.get("last_name")),
            "ct": normalize_city(contact.get("city")),
            "st": _attempt(issues, normalize_state, contact.get("region"), place, f"{where}.region"),
            "zip": _attempt(issues, normalize_zip, contact.get("postal_code"), place, f"{where}.postal_code"),
            "country": country,
        }
        if not (values["email"] or values["phone"] or (values["fn"] and values["ln"])):
            _note(issues, where, "no email, no phone and not both names: left out")
            continue
        yield {column: sha256_hex(values[column]) if values[column] else "" for column in META_COLUMNS}


def linkedin_list_rows(
    contacts: Iterable[Mapping[str, Any]], *, issues: list[InvalidInput] | None = None
) -> Iterator[dict[str, str]]:
    """LinkedIn contact-list rows (``LINKEDIN_COLUMNS``): the first usable email as SHA-256, names, job
    title (``title``) and company (``company``) as plain text cut to LinkedIn's lengths, the country as
    an upper-case ISO code, ``googleaid`` empty. A contact with no email and not both names is left out."""
    for index, contact in enumerate(contacts):
        where = f"contacts[{index}]"
        email = _first(contact, "emails", where, issues)
        country = _attempt(issues, normalize_country, contact.get("country"), f"{where}.country")
        row = {
            "email": sha256_hex(email) if email else "",
            "firstname": _plain(contact.get("first_name"), LINKEDIN_NAME_MAX),
            "lastname": _plain(contact.get("last_name"), LINKEDIN_NAME_MAX),
            "jobtitle": _plain(contact.get("title"), LINKEDIN_TEXT_MAX),
            "employeecompany": _plain(contact.get("company"), LINKEDIN_TEXT_MAX),
            "country": country.upper(),
            "googleaid": "",
        }
        if not (email or (row["firstname"] and row["lastname"])):
            _note(issues, where, "no email and not both names: left out")
            continue
        yield row


def write_customer_list(
    path: Path | str, rows: Iterable[Mapping[str, str]], columns: Sequence[str] = META_COLUMNS
) -> int:
    """Write ``rows`` as UTF-8 CSV with a header row; returns how many rows were written."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _first(
    contact: Mapping[str, Any],
    key: Literal["emails", "phones"],
    where: str,
    issues: list[InvalidInput] | None,
    region: str | None = None,
) -> str:
    """The first email or phone that normalises to something; the rejected ones before it are noted."""
    values = contact.get(key) or []
    for index, value in enumerate([values] if isinstance(values, str) else values):
        field = f"{where}.{key}[{index}]"
        if key == "emails":
            normalized = _attempt(issues, normalize_email, str(value), field)
        else:
            normalized = _attempt(issues, normalize_phone, str(value), region, field)
        if normalized:
            return normalized
    return ""


def _attempt(issues: list[InvalidInput] | None, normalize: Callable[..., str], *args: Any) -> str:
    """``normalize(*args)``, or '' when it rejects the value (recorded in ``issues``)."""
    try:
        return normalize(*args)
    except InvalidInput as error:
        if issues is not None:
            issues.append(error)
        return ""


def _note(issues: list[InvalidInput] | None, field: str, reason: str) -> None:
    if issues is not None:
        issues.append(InvalidInput(f"{field}: {reason}", field=field))


def _plain(value: Any, limit: int) -> str:
    return " ".join(str(value).split())[:limit] if value is not None else ""
