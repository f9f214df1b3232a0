"""Value parsers in contacts.values for imports: counts, sizes, dates, names, fast emails and
phones; property tests check the fast paths against the libraries they stand in for."""

from __future__ import annotations

import re
from datetime import date, datetime

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadwell.auth.accounts import normalize_email
from leadwell.contacts import fields
from leadwell.contacts.fields import fast_normalize_email, phone_to_e164
from leadwell.contacts.values import (
    AmbiguousDate,
    date_order_hint,
    parse_count,
    parse_date,
    parse_employees,
    split_full_name,
    tidy_name,
)
from leadwell.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200", 1200),
        ("1,200", 1200),
        ("1.200", 1200),
        ("1.200.000", 1_200_000),
        ("12 000", 12000),
        ("1'200", 1200),
        ("1.2k", 1200),
        ("1,5k", 1500),
        ("3M", 3_000_000),
        ("2 mio", 2_000_000),
        ("1200.0", 1200),
    ],
)
def test_parse_count(text: str, expected: int) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize("text", ["1.5", "1,20", "abc", "", "1.200,5", "1,2,3", "-5"])
def test_parse_count_refuses(text: str) -> None:
    with pytest.raises(InvalidInput, match="employees: .* is not a whole number"):
        parse_count(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250", (250, 250, 250)),
        ("1,200", (1200, 1200, 1200)),
        ("1.2k", (1200, 1200, 1200)),
        ("100-250", (None, 100, 250)),
        ("100 – 250", (None, 100, 250)),
        ("100 to 250", (None, 100, 250)),
        ("51-200 employees", (None, 51, 200)),
        ("1,001-5,000", (None, 1001, 5000)),
        ("500+", (None, 500, None)),
        ("10,001+", (None, 10001, None)),
        ("More than 10,000", (None, 10001, None)),
        (">= 50", (None, 50, None)),
        ("under 10", (None, 1, 9)),
        ("up to 50", (None, 1, 50)),
        ("Self-employed", (1, 1, 1)),
        ("~200", (200, 200, 200)),
        ("50-50", (50, 50, 50)),
    ],
)
def test_parse_employees(text: str, expected: tuple[int | None, int | None, int | None]) -> None:
    assert parse_employees(text) == expected


@pytest.mark.parametrize("text", ["250-100", "lots", "under 1", "1.5"])
def test_parse_employees_refuses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_employees(text)


def _grouped(number: int, separator: str) -> str:
    return f"{number:,}".replace(",", separator)


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from([",", ".", " ", "'", ""]))
def test_count_round_trips_through_grouped_text(number: int, separator: str) -> None:
    assert parse_count(_grouped(number, separator)) == number


@given(st.integers(min_value=1, max_value=999_999), st.sampled_from(["k", "K", "M", "m"]))
def test_count_round_trips_through_scaled_text(thousandths: int, suffix: str) -> None:
    scale = 1_000 if suffix.lower() == "k" else 1_000_000
    text = f"{thousandths / 1000:.3f}".rstrip("0").rstrip(".") + suffix
    assert parse_count(text) == thousandths * scale // 1000


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_ranges_round_trip(low: int, high: int) -> None:
    low, high = min(low, high), max(low, high)
    text = f"{low:,}-{high:,}"
    assert parse_employees(text) == ((low, low, low) if low == high else (None, low, high))
    assert parse_employees(f"{low:,}+") == (None, low, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-31", "2024-05-31"),
        ("2024/05/31", "2024-05-31"),
        ("31/05/2024", "2024-05-31"),
        ("05/31/2024", "2024-05-31"),
        ("31.05.2024", "2024-05-31"),
        ("31 May 2024", "2024-05-31"),
        ("31-May-24", "2024-05-31"),
        ("May 31, 2024", "2024-05-31"),
        ("Friday, May 31, 2024", "2024-05-31"),
        ("1 Mär 2024", "2024-03-01"),
        ("2024-05-31 14:05:00", "2024-05-31T14:05:00"),
        ("2024-05-31T14:05:00Z", "2024-05-31T14:05:00Z"),
        ("2024-05-31T14:05:00+0200", "2024-05-31T14:05:00+02:00"),
        ("Jun 1, 2024 10:00 AM", "2024-06-01T10:00:00"),
        ("05/31/2024 02:05:00 PM", "2024-05-31T14:05:00"),
        ("12/31/2024 12:30 am", "2024-12-31T00:30:00"),
        ("07/07/2024", "2024-07-07"),
    ],
)
def test_parse_date(text: str, expected: str) -> None:
    assert parse_date(text) == expected


def test_parse_date_order_for_ambiguous_numeric_dates() -> None:
    with pytest.raises(AmbiguousDate):
        parse_date("03/04/2024")
    assert parse_date("03/04/2024", day_first=True) == "2024-04-03"
    assert parse_date("03/04/2024", day_first=False) == "2024-03-04"
    assert parse_date("13/04/2024", day_first=False) == "2024-04-13"  # only one reading exists
    assert parse_date("03.04.2024") == "2024-04-03"  # dotted dates are day first


@pytest.mark.parametrize("text", ["31/02/2024", "2024-13-01", "May 2024", "hello", "13/31/2024", "1:00 PM"])
def test_parse_date_refuses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_date(text)


def test_date_order_hint() -> None:
    assert date_order_hint("31/05/2024") is True
    assert date_order_hint("05/31/2024") is False
    assert date_order_hint("05/06/2024") is None
    assert date_order_hint("2024-05-31") is None


_FORMATS = [
    ("%Y-%m-%d", True, False),
    ("%d/%m/%Y", True, True),
    ("%m/%d/%Y", False, True),
    ("%d %B %Y", True, False),
    ("%b %d, %Y", True, False),
    ("%d.%m.%Y", True, False),
]


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2069, 12, 31)), st.sampled_from(_FORMATS))
def test_dates_round_trip(day: date, form: tuple[str, bool, bool]) -> None:
    pattern, day_first, numeric = form
    text = day.strftime(pattern)
    assert parse_date(text, day_first=day_first if numeric else None) == day.isoformat()


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2069, 12, 31)))
def test_datetimes_round_trip(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    assert parse_date(moment.strftime("%Y-%m-%d %H:%M:%S")) == moment.isoformat()
    assert parse_date(moment.strftime("%m/%d/%Y %I:%M:%S %p"), day_first=False) == moment.isoformat()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Smith, John", ("John", "Smith")),
        ("Dr. Jane van der Berg", ("Jane", "van der Berg")),
        ("Jane Mary Smith", ("Jane Mary", "Smith")),
        ("Prof. Dr. Hans Müller", ("Hans", "Müller")),
        ("Ludwig van Beethoven", ("Ludwig", "van Beethoven")),
        ("John Smith Jr.", ("John", "Smith Jr.")),
        ("John Smith, Jr.", ("John", "Smith Jr.")),
        ("Jane Doe, PhD", ("Jane", "Doe")),
        ("de la Cruz, Juan", ("Juan", "de la Cruz")),
        ("Smith, Dr. John", ("John", "Smith")),
        ("Madonna", ("Madonna", "")),
        ("Mrs", ("Mrs", "")),
        ("Jane Ma", ("Jane", "Ma")),
        ("  John    Smith ", ("John", "Smith")),
        ("", ("", "")),
    ],
)
def test_split_full_name(text: str, expected: tuple[str, str]) -> None:
    assert split_full_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("JOHN MCDONALD", "John McDonald"),
        ("patrick o'brien", "Patrick O'Brien"),
        ("ANNE-MARIE VAN DER BERG", "Anne-Marie van der Berg"),
        ("VAN DER BERG", "Van der Berg"),
        ("JOSÉ GARCÍA", "José García"),
        ("henry viii", "Henry VIII"),
        ("d'angelo", "D'Angelo"),
        ("McDonald", "McDonald"),
        ("DeShawn van Dyke", "DeShawn van Dyke"),
        ("  jane   doe ", "Jane Doe"),
        ("MAC", "Mac"),
    ],
)
def test_tidy_name(text: str, expected: str) -> None:
    assert tidy_name(text) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("John.Smith@Example.COM", "john.smith@example.com"),
        ("  a+tag@sub.example.co.uk ", "a+tag@sub.example.co.uk"),
        ("jörg@bücher.de", normalize_email("jörg@bücher.de")),
    ],
)
def test_fast_normalize_email(address: str, expected: str) -> None:
    assert fast_normalize_email(address) == expected


@pytest.mark.parametrize("address", ["a@b", "a@localhost", "a..b@example.com", "a@example.test", "a@-x.com"])
def test_fast_normalize_email_refuses_what_email_validator_refuses(address: str) -> None:
    with pytest.raises(InvalidInput):
        fast_normalize_email(address)


_LOCAL = st.from_regex(r"[A-Za-z0-9_+-]{1,10}(\.[A-Za-z0-9_+-]{1,10}){0,2}", fullmatch=True)
_DOMAIN = st.from_regex(r"([A-Za-z0-9-]{1,12}\.){1,3}[A-Za-z]{2,8}", fullmatch=True)


def _validator(address: str) -> str | None:
    try:
        return normalize_email(address)
    except InvalidInput:
        return None


def _fast(address: str) -> str | None:
    try:
        return fast_normalize_email(address)
    except InvalidInput:
        return None


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_LOCAL, _DOMAIN)
def test_fast_email_path_agrees_with_email_validator(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    assert _fast(address) == _validator(address)


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_fast_email_path_agrees_on_any_text(text: str) -> None:
    assert _fast(text) == _validator(text)


_FORMATTING = re.compile(r"[\s().\-/]")


def _example_numbers() -> list[tuple[str, str | None]]:
    numbers: list[tuple[str, str | None]] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number(region)
        if example is None:
            continue
        numbers.append((phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL), region))
        international = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        numbers.append((international, None))
        numbers.append((international.removeprefix("+"), region))  # the calling code without its "+"
    return numbers


@settings(max_examples=500)
@given(st.sampled_from(_example_numbers()), st.lists(st.integers(0, 9), min_size=6, max_size=6), st.data())
def test_phone_pattern_cache_agrees_with_libphonenumber(
    example: tuple[str, str | None], digits: list[int], data: st.DataObject
) -> None:
    """Numbers sharing a remembered pattern get what libphonenumber itself would say."""
    text, region = example
    positions = [index for index, char in enumerate(text) if char.isdigit()]
    for _ in range(2):  # the first call may teach the cache, the second may use it
        changed = list(text)
        for position, digit in zip(positions[-6:], digits, strict=False):
            changed[position] = str(digit)
        number = "".join(changed)
        bare = _FORMATTING.sub("", number)
        assert phone_to_e164(number, region) == fields._libphonenumber_e164(bare, region)
        digits = data.draw(st.lists(st.integers(0, 9), min_size=6, max_size=6))


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("+1 (415) 555-0132", None, "+14155550132"),
        ("(415) 555-0132", "US", "+14155550132"),
        ("030 1234567", "DE", "+49301234567"),
        ("0049 30 1234567", None, "+49301234567"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("+44 020 7946 0958", None, "+442079460958"),
        ("030 1234567", None, None),
        ("12", "US", None),
        ("call me", "US", None),
    ],
)
def test_phone_to_e164(number: str, region: str | None, expected: str | None) -> None:
    assert phone_to_e164(number, region) == expected
    assert phone_to_e164(number, region) == expected  # and again, through the pattern cache
