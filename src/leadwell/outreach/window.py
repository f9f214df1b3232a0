"""Business days and sending windows, read on the wall clock of a time zone.

A sequence sends on its business weekdays, between ``window_start`` and ``window_end`` (HH:MM) on
the clock where the contact is (the contact's time zone, else the sequence's). Precisely:

- A business day's window **opens** the first moment the clock there shows the start time on that
  day, and **closes** the first moment it shows the end time. On the night clocks spring forward
  past the start time, the window opens at the jump; when clocks fall back inside the window, the
  window lasts that much longer in real time; a day the zone skipped entirely has no window.
- :func:`next_open` is the earliest moment at or after a given one that lies inside a window.
- :func:`after_business_days` counts *n* business days after the local date of a moment (Friday
  plus one is Monday; Saturday plus one is Monday too), keeps the clock time, and then moves the
  result to the next opening of a window when it falls outside one.

Every function takes and returns aware UTC datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadwell.errors import InvalidInput

ISO_WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)
WEEKDAY_NAMES = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
# A week always holds a business day; a zone may skip a whole day (Samoa, 30 Dec 2011), so look a
# little further than one week.
_DAYS_AHEAD = 16


@dataclass(frozen=True)
class Calendar:
    """Where and when sending is allowed: a time zone, a daily window and the business weekdays."""

    zone: ZoneInfo
    start: time
    end: time
    weekdays: frozenset[int]

    def is_business_day(self, day: date) -> bool:
        """Whether ``day`` is one of the business weekdays."""
        return day.isoweekday() in self.weekdays


def parse_clock(text: str, field: str) -> time:
    """``"09:30"`` as a time; :class:`InvalidInput` naming ``field`` for anything else."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f"{field}: a time of day like 09:00 (00:00 to 23:59)", field=field)
    return time(int(match.group(1)), int(match.group(2)))


def zone_named(name: str, field: str = "timezone") -> ZoneInfo:
    """The IANA time zone ``name``; :class:`InvalidInput` naming ``field`` when there is none."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{field}: {name[:40]!r} is not an IANA time zone", field=field) from None


def check_weekdays(days: Iterable[int], field: str = "weekdays") -> list[int]:
    """ISO weekdays (1 = Monday), sorted and without repeats; at least one."""
    chosen = sorted(set(days))
    if not chosen or any(day not in ISO_WEEKDAYS for day in chosen):
        raise InvalidInput(f"{field}: one or more weekdays, 1 (Monday) to 7 (Sunday)", field=field)
    return chosen


def make_calendar(zone: str, start: str, end: str, weekdays: Iterable[int]) -> Calendar:
    """A checked :class:`Calendar`; the window must start before it ends on the same day."""
    opens, closes = parse_clock(start, "window_start"), parse_clock(end, "window_end")
    if opens >= closes:
        raise InvalidInput("window_end: the window must end after it starts (same day)", field="window_end")
    return Calendar(zone_named(zone), opens, closes, frozenset(check_weekdays(weekdays)))


def wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """What the clock in ``zone`` shows at ``moment`` (a naive datetime)."""
    return moment.astimezone(zone).replace(tzinfo=None)


def first_reaching(shown: datetime, zone: ZoneInfo) -> datetime:
    """The first moment the clock in ``zone`` shows ``shown`` (naive) or later, in UTC.

    For a time the clock shows twice (falling back) it is the first time; for a time it skips
    (springing forward) it is the moment of the jump."""
    early = shown.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if wall(early, zone) == shown:
        return early
    # Skipped: with fold=0 the zone reads the time with the offset before the jump (too late), with
    # fold=1 with the offset after it (too early). The jump lies between; the clock only moves
    # forward there, so halving the interval finds it (tz data counts in whole seconds).
    other = shown.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(early, other), max(early, other)
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low).total_seconds() // 2)
        if wall(middle, zone) >= shown:
            high = middle
        else:
            low = middle
    return high


def window_on(calendar: Calendar, day: date) -> tuple[datetime, datetime] | None:
    """The window of ``day`` as (opens, closes) in UTC; None on a day that is not a business day
    or that the zone skipped."""
    if not calendar.is_business_day(day):
        return None
    opens = first_reaching(datetime.combine(day, calendar.start), calendar.zone)
    closes = first_reaching(datetime.combine(day, calendar.end), calendar.zone)
    return (opens, closes) if opens < closes else None


def next_open(calendar: Calendar, moment: datetime) -> datetime:
    """The earliest moment at or after ``moment`` inside a window: ``moment`` itself when it is in
    one, else the next opening."""
    day = wall(moment, calendar.zone).date() - timedelta(days=1)
    for offset in range(_DAYS_AHEAD):
        window = window_on(calendar, day + timedelta(days=offset))
        if window is not None and moment < window[1]:
            return max(moment, window[0])
    raise AssertionError("a calendar with business weekdays always has a window within two weeks")


def in_window(calendar: Calendar, moment: datetime) -> bool:
    """Whether ``moment`` lies inside a window."""
    return next_open(calendar, moment) == moment


def nth_business_day(calendar: Calendar, day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself when ``count`` is 0)."""
    found = day
    while count > 0:
        found += timedelta(days=1)
        if calendar.is_business_day(found):
            count -= 1
    return found


def after_business_days(calendar: Calendar, moment: datetime, count: int) -> datetime:
    """``count`` business days after ``moment`` at the same clock time, moved into a window."""
    shown = wall(moment, calendar.zone)
    target = datetime.combine(nth_business_day(calendar, shown.date(), count), shown.time())
    return next_open(calendar, max(moment, first_reaching(target, calendar.zone)))
