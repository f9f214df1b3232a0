"""A webinar or seminar as an iCalendar file (RFC 5545): one VEVENT, times in UTC.

Text values are escaped (backslash, semicolon, comma, newlines) and every content line is folded
at 75 octets without splitting a UTF-8 character; lines end with CRLF as the RFC requires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from leadwell.db.models import Asset

# Without a stated length the calendar shows an hour, a common webinar slot.
DEFAULT_MINUTES = 60
FOLD_AT = 75


def escape_text(value: str) -> str:
    """``value`` as an RFC 5545 TEXT value."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    # Other control characters have no place in a calendar line.
    value = "".join(char for char in value if char == "\n" or char == "\t" or ord(char) >= 32)
    return value.replace("\n", "\\n")


def fold(line: str) -> str:
    """``line`` folded into pieces of at most 75 octets, continuation lines starting with a space."""
    pieces: list[str] = []
    current, size, limit = "", 0, FOLD_AT
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, FOLD_AT - 1  # the leading space takes one octet
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def event_ics(asset: Asset, host: str, url: str, stamp: datetime) -> str:
    """The calendar file for an event asset (its ``starts_at`` must be set)."""
    assert asset.starts_at is not None
    minutes = asset.duration_minutes or DEFAULT_MINUTES
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//leadwell//capture//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:asset-{asset.id}@{escape_text(host)}",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART:{_utc(asset.starts_at)}",
        f"DTEND:{_utc(asset.starts_at + timedelta(minutes=minutes))}",
        f"SUMMARY:{escape_text(asset.title)}",
    ]
    description = "\n\n".join(part for part in (asset.description.strip(), url) if part)
    lines.append(f"DESCRIPTION:{escape_text(description)}")
    if asset.location:
        lines.append(f"LOCATION:{escape_text(asset.location)}")
    lines.append(f"URL:{url}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)
