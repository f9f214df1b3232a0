"""One row of cells becomes a contact and an organization; every problem becomes an :class:`Issue`
naming the column it came from, and a row is only rejected when nothing identifies a person.

Cleaning runs once per row of files with a million rows, so the mapping is compiled once into column
positions, values that repeat (countries, domains, sizes, dates, names, phone number patterns) are
cached, and an address already in normal form skips email-validator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from leadwell.contacts.fields import fast_normalize_email, phone_to_e164
from leadwell.contacts.importing.countries import country_code
from leadwell.contacts.importing.mapping import Mapping, looks_like_date_column
from leadwell.contacts.importing.vocabulary import (
    CHOICE_HELP,
    MONTH_FIRST_REGIONS,
    NEGATIVE_HEADER,
    NULLS,
    is_free_mail,
    read_consent,
    read_stage,
    read_timezone,
    read_website,
)
from leadwell.contacts.values import (
    AmbiguousDate,
    date_order_hint,
    parse_date,
    parse_employees,
    split_full_name,
    tidy_name,
)
from leadwell.errors import InvalidInput

_EMAIL_SEPARATOR = re.compile(r"[;,\s<]|:::|mailto:", re.IGNORECASE)
_MAILTO = re.compile("mailto:", re.IGNORECASE)
_PHONE_SEPARATOR = re.compile(r"[;|,]|:::|\s/\s")
_PHONE_LETTERS = re.compile(r"[^\d\s()+./\-]")
_EMAIL_SPLIT = re.compile(r"[;,\s]+|:::")
_ANGLE_ADDRESS = re.compile(r"<([^<>]*)>")
_PHONE_SPLIT = re.compile(r"\s*(?:[;|,]|:::|\s/\s)\s*")
_EXTENSION = re.compile(r"\s*[,;]?\s*(?:ext(?:ension)?\.?|x|#|durchwahl|dw\.?)\s*:?\s*(\d{1,7})\s*$", re.I)
_TAG_SPLIT = re.compile(r"\s*(?:[,;|]|:::)\s*")
_NO_COUNTRY_CODE = " (start it with +<country code>)"
_NOT_A_SIZE = "not a number of employees (such as 250, 100-250, 500+)"
TEXT_LIMITS = {"title": 200, "street": 300, "city": 120, "region": 120, "postal_code": 20, "source": 120}
MAX_CUSTOM = 100
Record = dict[str, Any]


@dataclass(slots=True)
class Issue:
    """A problem in one row, for the import report (stored as an ImportIssue)."""

    line: int
    column: str | None  # the source header
    severity: str  # "rejected" | "warning"
    reason: str
    value: str | None


@dataclass(slots=True)
class CleanRow:
    """One row cleaned: the contact's fields (only those with a value), its organization, its issues."""

    line: int
    contact: dict[str, Any]  # only the fields the row has a value for
    organization: dict[str, Any] | None
    issues: list[Issue]
    rejected: bool


def _blank(value: str) -> bool:
    """Empty, or a placeholder such as "N/A" or "-" that means empty."""
    return not value or (len(value) < 6 and value.lower() in NULLS)


_tidy = lru_cache(maxsize=65536)(tidy_name)
_employees = lru_cache(maxsize=4096)(parse_employees)
_date = lru_cache(maxsize=65536)(parse_date)


@lru_cache(maxsize=65536)
def _full_name(text: str) -> tuple[str, str]:
    return split_full_name(_tidy(text))


class RowCleaner:
    """Cleans the rows of one file under one mapping; cells come in the order of ``mapping.columns``.

    ``default_region`` (a country name or code) reads phone numbers written without "+<code>" in rows
    that have no country, and settles dates like 03/04/2024 (month first for the US)."""

    def __init__(self, mapping: Mapping, default_region: str | None = None) -> None:
        self.mapping = mapping
        self.default_region = country_code(default_region) if default_region else None
        if default_region and self.default_region is None:
            raise InvalidInput(f"default_region: {default_region!r} is not a country", field="default_region")
        self._headers = list(mapping.columns)
        self._day_first_default = self.default_region not in MONTH_FIRST_REGIONS
        self._day_first: dict[int, bool] = {}  # what each date column's values have shown so far
        by_target: dict[str, list[int]] = {}
        self._custom: list[tuple[int, str, bool]] = []
        for index, (header, target) in enumerate(mapping.columns.items()):
            if target.startswith("custom:"):
                self._custom.append((index, target.removeprefix("custom:"), looks_like_date_column(header)))
            elif target != "ignore":
                by_target.setdefault(target, []).append(index)
        at = {target: found[0] for target, found in by_target.items()}
        self._at = at
        self._emails = [i for slot in ("email", "email_2", "email_3") for i in by_target.get(slot, [])]
        self._phones = [i for slot in ("phone", "phone_2", "phone_3") for i in by_target.get(slot, [])]
        self._texts = [(key, at[key], limit) for key, limit in TEXT_LIMITS.items() if key in at]
        self._tags = by_target.get("tags", [])
        self._notes = by_target.get("notes", [])
        consent = at.get("consent")
        negative = consent is not None and bool(NEGATIVE_HEADER.search(self._headers[consent]))
        choosers: dict[str, Callable[[str], str | None]] = {
            "timezone": read_timezone,
            "consent": partial(read_consent, negative_column=negative),
            "stage": read_stage,
        }
        self._choosers = [(target, read) for target, read in choosers.items() if target in at]

    def clean(self, line: int, cells: list[str]) -> CleanRow:
        """The contact and organization in one row; problems are issues, never exceptions."""
        try:
            return self._clean(line, cells)
        except Exception as error:  # a slip on one odd row must not stop a million-row import
            reason = f"this row could not be cleaned ({type(error).__name__}: {error})"
            return CleanRow(line, {}, None, [Issue(line, None, "rejected", reason, None)], True)

    def _warn(self, issues: list[Issue], line: int, at: int | None, reason: str, value: str | None) -> None:
        issues.append(Issue(line, None if at is None else self._headers[at], "warning", reason, value))

    def _cell(self, cells: list[str], target: str) -> tuple[int, str]:
        index = self._at.get(target)
        if index is None:
            return -1, ""
        value = cells[index].strip()
        if len(value) < 6 and value.lower() in NULLS:  # _blank, inlined: this runs for every cell
            return index, ""
        return index, value

    def _clean(self, line: int, cells: list[str]) -> CleanRow:
        issues: list[Issue] = []
        contact: dict[str, Any] = {}
        self._names(line, cells, contact, issues)
        emails = self._email_list(line, cells, issues)
        if emails:
            contact["emails"] = emails
        for key, index, limit in self._texts:
            value = cells[index].strip()
            if not _blank(value):
                contact[key] = self._text(issues, line, index, value, limit)
        country = self._country_in(line, cells, "country", issues)
        if country:
            contact["country"] = country
        phones = self._phone_list(line, cells, country or self.default_region, issues)
        if phones:
            contact["phones"] = phones
        self._choices(line, cells, contact, issues)
        custom = self._custom_values(line, cells, issues)
        if custom:
            contact["custom"] = custom
        organization = self._organization(line, cells, emails, issues)
        rejected = not (emails or phones or "first_name" in contact or "last_name" in contact)
        if rejected:
            issues.append(Issue(line, None, "rejected", "no email, phone or name identifies a person", None))
        return CleanRow(line, contact, organization, issues, rejected)

    def _text(self, issues: list[Issue], line: int, index: int, value: str, limit: int) -> str:
        text = " ".join(value.split())
        if len(text) > limit:
            self._warn(issues, line, index, f"longer than {limit} characters: cut short", value)
        return text[:limit]

    def _names(self, line: int, cells: list[str], contact: dict[str, Any], issues: list[Issue]) -> None:
        first_at, first = self._cell(cells, "first_name")
        last_at, last = self._cell(cells, "last_name")
        if first or last:
            first, last = _tidy(first) if first else "", _tidy(last) if last else ""
        else:
            first_at, full = self._cell(cells, "full_name")
            last_at = first_at
            if full:
                first, last = _full_name(full)
        if first:
            contact["first_name"] = self._text(issues, line, first_at, first, 120)
        if last:
            contact["last_name"] = self._text(issues, line, last_at, last, 120)

    def _email_list(self, line: int, cells: list[str], issues: list[Issue]) -> list[str]:
        emails: list[str] = []
        for index in self._emails:
            cell = cells[index].strip()
            if _blank(cell):
                continue
            for part in _split_emails(cell):
                try:
                    address = fast_normalize_email(part)
                except InvalidInput as error:
                    reason = error.detail.partition(": ")[2] or error.detail
                    self._warn(issues, line, index, f"not a valid email address: {reason}", part)
                    continue
                if address not in emails:
                    emails.append(address)
        return emails

    def _phone_list(self, line: int, cells: list[str], region: str | None, issues: list[Issue]) -> list[str]:
        phones: list[str] = []
        for index in self._phones:
            cell = cells[index].strip()
            if _blank(cell):
                continue
            for part in _PHONE_SPLIT.split(cell) if _PHONE_SEPARATOR.search(cell) else (cell,):
                number = part
                extension = _EXTENSION.search(part) if _PHONE_LETTERS.search(part) else None
                if extension:
                    number = part[: extension.start()]
                    self._warn(issues, line, index, f"extension {extension.group(1)} dropped", part)
                e164 = phone_to_e164(number, region) if number else None
                if e164 is None:
                    hint = "" if region or number.lstrip().startswith("+") else _NO_COUNTRY_CODE
                    self._warn(issues, line, index, f"not a phone number{hint}", part)
                elif e164 not in phones:
                    phones.append(e164)
        return phones

    def _country_in(self, line: int, cells: list[str], target: str, issues: list[Issue]) -> str | None:
        index, value = self._cell(cells, target)
        if not value:
            return None
        code = country_code(value)
        if code is None:
            self._warn(issues, line, index, "not a country name or code this importer knows", value)
        return code

    def _choices(self, line: int, cells: list[str], contact: dict[str, Any], issues: list[Issue]) -> None:
        """Time zone, consent and stage: a known word or a warning ("" means the cell says nothing)."""
        for target, read in self._choosers:
            index, value = self._cell(cells, target)
            if value:
                choice = read(value)
                if choice:
                    contact[target] = choice
                elif choice is None:
                    self._warn(issues, line, index, CHOICE_HELP[target], value)
        tags = self._tag_list(line, cells, issues)
        if tags:
            contact["tags"] = tags

    def _tag_list(self, line: int, cells: list[str], issues: list[Issue]) -> list[str]:
        tags: list[str] = []
        seen: set[str] = set()
        for index in self._tags:
            cell = cells[index].strip()
            for tag in _TAG_SPLIT.split(cell) if cell else ():
                tag = tag.removeprefix("* ")  # Google marks its system labels "* starred"
                if not tag or tag.casefold() in seen or tag.casefold() == "mycontacts":
                    continue
                if len(tag) > 60:
                    self._warn(issues, line, index, "a tag has at most 60 characters: left out", tag)
                    continue
                seen.add(tag.casefold())
                tags.append(tag)
        return tags

    def _custom_values(self, line: int, cells: list[str], issues: list[Issue]) -> dict[str, Any]:
        custom: dict[str, Any] = {}
        for index, key, is_date in self._custom:
            value = cells[index]
            if value and (value := value.strip()):
                custom[key] = self._date_in(line, index, value, issues) if is_date else value
        notes = "\n".join(text for index in self._notes if (text := cells[index].strip()))
        if notes:
            custom.setdefault("notes", notes)
        if len(custom) > MAX_CUSTOM:
            self._warn(issues, line, None, f"more than {MAX_CUSTOM} custom fields: the rest left out", None)
            custom = dict(list(custom.items())[:MAX_CUSTOM])
        return custom

    def _date_in(self, line: int, index: int, value: str, issues: list[Issue]) -> str:
        """ISO text for a date cell; a numeric date's day/month order is learnt from its column."""
        day_first = self._day_first.get(index)
        if day_first is None:
            hint = date_order_hint(value)
            if hint is not None:
                self._day_first[index] = day_first = hint
        try:
            return _date(value, day_first)
        except AmbiguousDate:
            order = "day/month" if self._day_first_default else "month/day"
            self._warn(issues, line, index, f"could be day/month or month/day: read as {order}", value)
            return _date(value, self._day_first_default)
        except InvalidInput:
            if not _blank(value):
                self._warn(issues, line, index, "not a date this importer reads: kept as written", value)
            return value

    def _organization(
        self, line: int, cells: list[str], emails: list[str], issues: list[Issue]
    ) -> Record | None:
        company_at, name = self._cell(cells, "company")
        domain = self._domain(line, cells, emails, issues)
        size_at, size = self._cell(cells, "employees")
        employees: tuple[int | None, int | None, int | None] = (None, None, None)
        if size:
            try:
                employees = _employees(size)
            except InvalidInput:
                self._warn(issues, line, size_at, _NOT_A_SIZE, size)
        industry_at, industry = self._cell(cells, "industry")
        country = self._country_in(line, cells, "company_country", issues)
        if not name and not domain:
            if size or industry or country:
                index = size_at if size else industry_at if industry else self._at["company_country"]
                reason = "company details without a company name or website: left out"
                self._warn(issues, line, index, reason, None)
            return None
        return {
            "name": self._text(issues, line, company_at, name, 300) if name else None,
            "domain": domain,
            "employees": employees[0],
            "employees_min": employees[1],
            "employees_max": employees[2],
            "industry": self._text(issues, line, industry_at, industry, 120) if industry else None,
            "country": country,
        }

    def _domain(self, line: int, cells: list[str], emails: list[str], issues: list[Issue]) -> str | None:
        """The website's domain, else the first email's that is not free mail."""
        index, website = self._cell(cells, "website")
        if website:
            domain, problem = read_website(website)
            if domain:
                return domain
            self._warn(issues, line, index, f"the website {problem}", website)
        for email in emails:
            domain = email.rpartition("@")[2]
            if not is_free_mail(domain):
                return domain
        return None


def _split_emails(cell: str) -> list[str] | tuple[str]:
    """The addresses in one cell: "a@x.com; b@y.com", "Jane <jane@x.com>", "mailto:a@x.com".

    A cell with one "@" holds one address, so a bad one is reported whole, not word by word."""
    if not _EMAIL_SEPARATOR.search(cell):
        return (cell,)
    if "<" in cell:
        found = [address.strip() for address in _ANGLE_ADDRESS.findall(cell) if address.strip()]
        if found:
            return found
    cell = _MAILTO.sub(" ", cell)
    return [part for part in _EMAIL_SPLIT.split(cell) if part] if cell.count("@") > 1 else (cell.strip(),)
