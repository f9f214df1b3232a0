"""Reading webinar attendance exports: Zoom, GoToWebinar, Microsoft Teams, Webex, or a plain CSV.

These exports are not one clean table. Zoom and GoToWebinar put report details above the people,
and Zoom and Teams split a file into sections ("Host Details", "Attendee Details"; "1. Summary",
"2. Participants", "3. In-Meeting Activities"), each with its own header row. So the file is read
record by record: a row that names an email column is a header, a row with a single cell is a
section title, and the rows under a header are people unless their section lists hosts, panelists,
a summary, or per-join activity (which would count the participants twice). A person on several
rows (rejoins) is one attendee whose minutes are summed.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from itertools import islice

from leadwell.auth.accounts import normalize_email
from leadwell.contacts.importing.mapping import header_key
from leadwell.contacts.importing.reader import DELIMITERS, detect_encoding, sniff_delimiter
from leadwell.errors import InvalidInput

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_MINUTES = 24 * 60
_COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "attendeeemail", "useremail", "participantemail", "mail"),
    "name": (
        "usernameoriginalname",
        "nameoriginalname",
        "fullname",
        "name",
        "attendeename",
        "participantname",
        "displayname",
        "attendee",
    ),
    "first_name": ("firstname", "givenname"),
    "last_name": ("lastname", "surname", "familyname"),
    "attended": ("attended", "attendedyesno"),
    "role": ("role", "userrole", "participantrole", "attendeetype"),
    "minutes": (
        "timeinsessionminutes",
        "durationminutes",
        "minutes",
        "attendanceminutes",
        "minutesattended",
        "timeinsession",
        "inmeetingduration",
        "attendanceduration",
        "duration",
    ),
}
_ALIASES = {alias: column for column, aliases in _COLUMNS.items() for alias in aliases}
# Sections whose rows are not the audience, or repeat it join by join.
_SKIPPED_SECTIONS = re.compile(r"host|panelist|summary|activit|poll|question|survey", re.I)
_DURATION_PART = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b", re.IGNORECASE
)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
# People in these roles ran the webinar; they are not its audience.
_STAFF_ROLES = {"organizer", "organiser", "presenter", "host", "cohost", "co-host", "panelist", "panellist"}
_YES = {"yes", "y", "true", "1", "attended", "x"}
_NO = {"no", "n", "false", "0", "", "--", "absent", "did not attend"}


@dataclass
class Attendee:
    """One person of the file: their address, names, summed minutes, and whether they attended."""

    email: str
    first_name: str
    last_name: str
    minutes: float
    attended: bool
    line: int


@dataclass(frozen=True)
class Rejected:
    """A row left out: its line in the file and why."""

    line: int
    reason: str


@dataclass
class AttendanceFile:
    """What a file held: the format recognised, the people (one per address) and the rows left out."""

    format: str
    people: list[Attendee] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def parse_minutes(text: str) -> float:
    """Minutes from "39", "39.5", "1 hour 2 minutes", "1h 2m 3s", "01:02:03" or "--" (none).

    Raises ``ValueError`` for anything else."""
    value = text.strip().lower()
    if value in ("", "-", "--", "n/a"):
        return 0.0
    try:
        return float(value.replace(",", "."))
    except ValueError:
        pass
    clock = _CLOCK.match(value)
    if clock:
        hours, minutes, seconds = clock.group(1), clock.group(2), clock.group(3)
        if seconds is None:  # "1:02" is hours and minutes
            return int(hours) * 60 + int(minutes)
        return int(hours) * 60 + int(minutes) + int(seconds) / 60
    parts = _DURATION_PART.findall(value)
    if not parts or _DURATION_PART.sub("", value).strip(" ,") != "":
        raise ValueError(text)
    total = 0.0
    for number, unit in parts:
        amount = float(number.replace(",", "."))
        total += amount * 60 if unit.startswith("h") else amount / 60 if unit.startswith("s") else amount
    return total


def _header(cells: list[str]) -> dict[str, int] | None:
    """Column positions when ``cells`` is a header row (it names an email column), else None."""
    columns: dict[str, int] = {}
    for position, cell in enumerate(cells):
        column = _ALIASES.get(header_key(cell))
        if column is not None and column not in columns:
            columns[column] = position
    return columns if "email" in columns else None


def _format(cells: list[str]) -> str:
    keys = {header_key(cell) for cell in cells}
    if "usernameoriginalname" in keys or "timeinsessionminutes" in keys or "nameoriginalname" in keys:
        return "zoom"
    if "emailaddress" in keys and "timeinsession" in keys:
        return "gotowebinar"
    if "fullname" in keys or "inmeetingduration" in keys or "participantidupn" in keys:
        return "teams"
    if "attendeeemail" in keys:
        return "webex"
    return "csv"


def _decode(content: bytes) -> str:
    if not content.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InvalidInput("file: the file is empty", field="file")
    if content.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0")):
        raise InvalidInput("file: not a CSV or text export (save the report as CSV)", field="file")
    encoding = detect_encoding(content[:65536])
    errors = "replace" if encoding.startswith("utf-16") or encoding == "utf-32" else "leadwell-cp1252"
    text = content.decode(encoding, errors=errors).replace("\x00", "")
    return text.removeprefix("\ufeff")


class _Collector:
    """People gathered row by row, merged by address."""

    def __init__(self) -> None:
        self.by_email: dict[str, Attendee] = {}
        self.rejected: list[Rejected] = []

    def add(self, line: int, cells: list[str], columns: dict[str, int]) -> None:
        def cell(name: str) -> str:
            at = columns.get(name)
            return cells[at].strip() if at is not None and at < len(cells) else ""

        if cell("role").lower() in _STAFF_ROLES:
            self.rejected.append(Rejected(line, f"{cell('role').lower()}, not an attendee"))
            return
        raw_email = cell("email")
        if not raw_email:
            self.rejected.append(Rejected(line, "no email address"))
            return
        try:
            email = normalize_email(raw_email)
        except InvalidInput:
            self.rejected.append(Rejected(line, f"{raw_email[:80]!r} is not an email address"))
            return
        try:
            minutes = parse_minutes(cell("minutes"))
        except ValueError:
            self.rejected.append(Rejected(line, f"{cell('minutes')[:40]!r} is not a duration"))
            return
        flag = cell("attended").lower()
        if "attended" in columns and flag not in _YES | _NO:
            self.rejected.append(Rejected(line, f"attended: {flag[:20]!r} is neither yes nor no"))
            return
        attended = flag in _YES if "attended" in columns else minutes > 0
        first, last = cell("first_name"), cell("last_name")
        if not (first or last) and cell("name"):
            # "Ada Lovelace (Ada L.)": Zoom appends the original name in brackets.
            name = re.sub(r"\s*\(.*\)\s*$", "", cell("name")).strip()
            first, _, last = name.partition(" ")
        self._merge(Attendee(email, first[:120], last[:120], minutes, attended, line))

    def _merge(self, person: Attendee) -> None:
        known = self.by_email.get(person.email)
        if known is None:
            self.by_email[person.email] = person
            return
        known.minutes += person.minutes
        known.attended = known.attended or person.attended
        if not (known.first_name or known.last_name):
            known.first_name, known.last_name = person.first_name, person.last_name


def _delimiter(text: str) -> str:
    """The delimiter under which a row of the first 200 reads as the richest header; the import
    reader's guess when none does. (Teams' timestamps hold commas, which fool counting cells.)"""
    best, chosen = 0, ""
    for delimiter in DELIMITERS:
        try:
            rows = list(islice(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 200))
        except csv.Error:
            continue
        found = max((len(_header(cells) or {}) for cells in rows), default=0)
        if found > best:
            best, chosen = found, delimiter
    return chosen or sniff_delimiter(text[:65536])


def read_attendance(content: bytes) -> AttendanceFile:
    """The people in an attendance export; :class:`InvalidInput` when no table of people is found."""
    if len(content) > MAX_FILE_BYTES:
        raise InvalidInput(f"file: at most {MAX_FILE_BYTES:,} bytes", field="file")
    text = _decode(content)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    collector = _Collector()
    found_format: str | None = None
    columns: dict[str, int] | None = None
    skipping = False
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            filled = [cell.strip() for cell in cells if cell.strip()]
            if not filled:
                continue
            header = _header(cells)
            if header is not None:
                columns, found_format = header, found_format or _format(cells)
            elif len(filled) == 1 and "@" not in filled[0]:
                skipping = bool(_SKIPPED_SECTIONS.search(filled[0]))
            elif columns is not None and not skipping:
                collector.add(line, cells, columns)
    except csv.Error as error:
        raise InvalidInput(f"file: line {start}: {error}", field="file") from None
    if found_format is None:
        raise InvalidInput(
            "file: no column of email addresses found (Email, Email Address, Attendee Email…)", field="file"
        )
    for person in collector.by_email.values():
        person.minutes = round(min(person.minutes, MAX_MINUTES), 1)
    return AttendanceFile(found_format, list(collector.by_email.values()), collector.rejected)
