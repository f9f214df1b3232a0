"""Reading ad-spend exports: the text (UTF-8 with or without BOM, UTF-16), the delimiter (comma, tab,
semicolon), the header line (title lines above it are skipped) and the layout it names — Meta Ads
Manager, Google Ads, LinkedIn Campaign Manager or a generic sheet — into plain spend rows.

Nothing here touches the database: a row that cannot be read raises InvalidInput naming its line
and column ("line 7, Cost: 'abc' is not an amount"), before anything is stored."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from leadwell.channels.values import BLANKS, parse_amount, parse_currency, parse_date
from leadwell.errors import InvalidInput

PLATFORMS = ("meta", "google", "linkedin", "generic")
PLATFORM_CHANNELS = {"meta": "Facebook", "google": "Google", "linkedin": "LinkedIn"}
DELIMITERS = ("\t", ";", ",")
HEADER_SEARCH_LINES = 20
META_AMOUNT_RE = re.compile(r"^amount spent(?: \(([a-z]{3})\))?$")
GENERIC_AMOUNTS = ("cost", "amount", "spend")


@dataclass(frozen=True)
class SpendRow:
    """One row of an export as spend: the line it came from, channel and campaign by name, the days
    it covers (inclusive), the amount and its currency."""

    line: int
    channel: str
    campaign: str
    spent_from: date
    spent_to: date
    amount: Decimal
    currency: str


@dataclass
class ParsedExport:
    platform: str
    rows: list[SpendRow] = field(default_factory=list)
    skipped: int = 0


@dataclass(frozen=True)
class Header:
    """The header line: where it is and each column's position by normalized name."""

    line_index: int
    names: list[str]  # as written, for messages
    positions: dict[str, int]

    def has(self, *names: str) -> bool:
        return all(name in self.positions for name in names)

    def first(self, *names: str) -> str | None:
        return next((name for name in names if name in self.positions), None)


def decode(content: bytes) -> str:
    """The export's text: UTF-16 by its BOM (Google's tab-separated export), UTF-8 with or without
    a BOM, or Windows-1252 as a last resort (a sheet saved from an old Excel)."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    if content[:200].count(b"\x00") > 10:  # UTF-16 without a BOM: every other byte is zero
        return content.decode("utf-16-le" if content[1:2] == b"\x00" else "utf-16-be")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def _norm(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


def detect(names: list[str]) -> str | None:
    """The layout a header names, or None."""
    columns = {_norm(name) for name in names}
    if {"campaign name", "reporting starts", "reporting ends"} <= columns and any(
        META_AMOUNT_RE.match(c) for c in columns
    ):
        return "meta"
    if {"start date (in utc)", "campaign name", "total spent"} <= columns:
        return "linkedin"
    if {"date", "channel"} <= columns and any(c in columns for c in GENERIC_AMOUNTS):
        return "generic"
    if {"campaign", "cost"} <= columns and ("day" in columns or "date" in columns):
        return "google"
    return None


def _rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Every record with the (1-based) line it ends on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(reader.line_num, row) for row in reader]


def find_header(text: str, platform: str | None) -> tuple[str, list[tuple[int, list[str]]], Header]:
    """The layout, the records and the header: the first line within the top 20 that names a
    layout (``platform`` when forced) under one of the delimiters."""
    for delimiter in DELIMITERS:
        try:
            records = _rows(text, delimiter)
        except csv.Error:
            continue
        for index, (_line, names) in enumerate(records[:HEADER_SEARCH_LINES]):
            found = detect(names)
            if found is not None and (platform is None or found == platform or platform == "generic"):
                positions = {_norm(name): position for position, name in enumerate(names)}
                return platform or found, records, Header(index, names, positions)
    wanted = f"a {platform} export's" if platform else "a Meta, Google Ads, LinkedIn or generic"
    raise InvalidInput(f"file: no header line with {wanted} columns found in the first lines", "file")


class RowReader:
    """One record read against the header; every refusal names the line and the column."""

    def __init__(self, header: Header, line: int, cells: list[str]) -> None:
        self.header, self.line, self.cells = header, line, cells

    def text(self, name: str) -> str:
        position = self.header.positions.get(name)
        if position is None or position >= len(self.cells):
            return ""
        return self.cells[position].strip()

    def refuse(self, name: str, message: str) -> InvalidInput:
        column = self.header.names[self.header.positions[name]].replace("\ufeff", "").strip()
        return InvalidInput(f"line {self.line}, {column}: {message}", f"line {self.line}: {column}")

    def day(self, name: str, month_first: bool = False) -> date:
        raw = self.text(name)
        try:
            return parse_date(raw, month_first)
        except ValueError:
            raise self.refuse(name, f"{raw!r} is not a date") from None

    def amount(self, name: str) -> Decimal | None:
        raw = self.text(name)
        try:
            value = parse_amount(raw)
        except ValueError:
            raise self.refuse(name, f"{raw!r} is not an amount") from None
        if value is not None and value < 0:
            raise self.refuse(name, f"{raw!r} is negative: spend is never below 0")
        return value

    def currency(self, name: str | None, default: str) -> str:
        raw = self.text(name) if name else ""
        if raw in BLANKS:
            return default
        try:
            return parse_currency(raw)
        except InvalidInput:
            assert name is not None
            raise self.refuse(name, f"{raw!r} is not a currency code (3 letters, like USD)") from None

    def campaign(self, name: str | None) -> str:
        value = " ".join(self.text(name).split()) if name else ""
        if len(value) > 200:
            assert name is not None
            raise self.refuse(name, "a campaign name is at most 200 characters")
        return value


Reader = Callable[[RowReader, str], SpendRow | None]


def _meta(row: RowReader, default: str) -> SpendRow | None:
    amount_column = next(c for c in row.header.positions if META_AMOUNT_RE.match(c))
    amount = row.amount(amount_column)
    if not amount:
        return None
    match = META_AMOUNT_RE.match(amount_column)
    assert match is not None
    in_header = match.group(1)
    currency = in_header.upper() if in_header else row.currency(row.header.first("currency"), default)
    if row.text("day"):  # a daily breakdown: the row is that day, whatever the report's range
        start = end = row.day("day")
    else:
        start, end = row.day("reporting starts"), row.day("reporting ends")
    if end < start:
        raise row.refuse("reporting ends", "ends before the reporting starts")
    return SpendRow(row.line, "Facebook", row.campaign("campaign name"), start, end, amount, currency)


def _google(row: RowReader, default: str) -> SpendRow | None:
    day_column = row.header.first("day", "date")
    assert day_column is not None
    amount = row.amount("cost")
    if not amount:
        return None
    day = row.day(day_column)
    currency = row.currency(row.header.first("currency code", "currency"), default)
    return SpendRow(row.line, "Google", row.campaign("campaign"), day, day, amount, currency)


def _linkedin(row: RowReader, default: str) -> SpendRow | None:
    amount = row.amount("total spent")
    if not amount:
        return None
    day = row.day("start date (in utc)", month_first=True)
    currency = row.currency(row.header.first("currency"), default)
    return SpendRow(row.line, "LinkedIn", row.campaign("campaign name"), day, day, amount, currency)


def _generic(row: RowReader, default: str) -> SpendRow | None:
    amount_column = row.header.first(*GENERIC_AMOUNTS)
    assert amount_column is not None
    amount = row.amount(amount_column)
    if not amount:
        return None
    day = row.day("date")
    channel = " ".join(row.text("channel").split())
    if not channel:
        raise row.refuse("channel", "name the channel")
    if len(channel) > 120:
        raise row.refuse("channel", "a channel name is at most 120 characters")
    currency = row.currency(row.header.first("currency"), default)
    return SpendRow(row.line, channel, row.campaign(row.header.first("campaign")), day, day, amount, currency)


READERS: dict[str, Reader] = {"meta": _meta, "google": _google, "linkedin": _linkedin, "generic": _generic}


def _is_total(cells: list[str]) -> bool:
    """Google's summary rows ("Total: Account", "Total: Campaigns", "Total"); a campaign merely
    named "Total reach" is not one."""
    return any((text := cell.strip().lower()) == "total" or text.startswith("total:") for cell in cells[:3])


def parse_export(content: bytes, default_currency: str, platform: str | None = None) -> ParsedExport:
    """The spend rows of an export; ``platform`` forces a layout (meta, google, linkedin, generic)."""
    if platform is not None and platform not in PLATFORMS:
        raise InvalidInput(f"platform: {platform!r} is not one of {', '.join(PLATFORMS)}", "platform")
    found, records, header = find_header(decode(content), platform)
    if platform == "generic" and not (header.has("date", "channel") and header.first(*GENERIC_AMOUNTS)):
        raise InvalidInput("file: a generic sheet needs date, channel and cost (or amount) columns", "file")
    parsed = ParsedExport(found)
    read = READERS[found]
    for line, cells in records[header.line_index + 1 :]:
        if not any(cell.strip() for cell in cells):
            continue
        if _is_total(cells):
            parsed.skipped += 1
            continue
        row = read(RowReader(header, line, cells), default_currency)
        if row is None:
            parsed.skipped += 1
        else:
            parsed.rows.append(row)
    return parsed
