"""Business days and sending windows: worked examples (a Friday afternoon, clocks changing, far
time zones) and properties checked by hypothesis over every zone, window and moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadwell.errors import InvalidInput
from leadwell.outreach.window import (
    Calendar,
    after_business_days,
    first_reaching,
    in_window,
    make_calendar,
    next_open,
    nth_business_day,
    wall,
    window_on,
)

ZONES = sorted(available_timezones() - {"Factory", "localtime"})
OFFICE = make_calendar("Europe/Paris", "09:00", "17:00", [1, 2, 3, 4, 5])


def paris(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC)


def test_friday_afternoon_plus_two_business_days_is_tuesday_afternoon() -> None:
    friday = paris(2025, 3, 14, 15, 30)
    assert after_business_days(OFFICE, friday, 2) == paris(2025, 3, 18, 15, 30)


def test_friday_evening_plus_two_lands_on_wednesday_morning() -> None:
    # Tuesday 19:00 is after the window closes: the next opening is Wednesday 09:00.
    assert after_business_days(OFFICE, paris(2025, 3, 14, 19, 0), 2) == paris(2025, 3, 19, 9, 0)


def test_a_weekend_moment_waits_for_monday_morning() -> None:
    assert next_open(OFFICE, paris(2025, 3, 15, 11, 0)) == paris(2025, 3, 17, 9, 0)
    # Saturday plus one business day is Monday (the count starts after the day itself).
    assert after_business_days(OFFICE, paris(2025, 3, 15, 11, 0), 1) == paris(2025, 3, 17, 11, 0)


def test_inside_the_window_is_now_and_at_the_close_is_tomorrow() -> None:
    assert next_open(OFFICE, paris(2025, 3, 12, 10, 0)) == paris(2025, 3, 12, 10, 0)
    assert in_window(OFFICE, paris(2025, 3, 12, 16, 59))
    assert next_open(OFFICE, paris(2025, 3, 12, 17, 0)) == paris(2025, 3, 13, 9, 0)
    assert next_open(OFFICE, paris(2025, 3, 12, 7, 0)) == paris(2025, 3, 12, 9, 0)


def test_a_window_across_the_spring_forward_opens_at_the_jump() -> None:
    night = make_calendar("America/New_York", "02:30", "05:00", [7])
    # 10 March 2024: New York's clocks go from 02:00 straight to 03:00 (07:00 UTC).
    assert window_on(night, date(2024, 3, 10)) == (
        datetime(2024, 3, 10, 7, 0, tzinfo=UTC),
        datetime(2024, 3, 10, 9, 0, tzinfo=UTC),
    )


def test_a_window_across_the_fall_back_lasts_an_hour_longer() -> None:
    night = make_calendar("America/New_York", "01:30", "05:00", [7])
    opens, closes = window_on(night, date(2024, 11, 3)) or (None, None)
    assert opens == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # the first 01:30, still EDT
    assert closes == datetime(2024, 11, 3, 10, 0, tzinfo=UTC)  # 05:00 EST
    assert closes - opens == timedelta(hours=4, minutes=30)


def test_office_hours_keep_their_clock_time_across_a_clock_change() -> None:
    # Friday before Europe's spring change at 15:00 CET; plus one business day is Monday 15:00 CEST.
    assert after_business_days(OFFICE, paris(2025, 3, 28, 15, 0), 1) == paris(2025, 3, 31, 15, 0)
    assert paris(2025, 3, 31, 15, 0) == datetime(2025, 3, 31, 13, 0, tzinfo=UTC)


def test_a_skipped_day_has_no_window() -> None:
    # Samoa moved across the date line: 30 December 2011 never happened in Apia.
    apia = make_calendar("Pacific/Apia", "09:00", "17:00", [1, 2, 3, 4, 5])
    assert window_on(apia, date(2011, 12, 30)) is None
    thursday_evening = datetime(2011, 12, 29, 18, 0, tzinfo=ZoneInfo("Pacific/Apia")).astimezone(UTC)
    assert wall(next_open(apia, thursday_evening), apia.zone) == datetime(2012, 1, 2, 9, 0)


def test_far_zones_read_the_window_on_their_own_date() -> None:
    kiritimati = make_calendar("Pacific/Kiritimati", "09:00", "17:00", [1, 2, 3, 4, 5])
    # Sunday 20:00 UTC is already Monday 10:00 in Kiritimati (UTC+14): inside the window.
    sunday = datetime(2025, 3, 16, 20, 0, tzinfo=UTC)
    assert next_open(kiritimati, sunday) == sunday
    pago = make_calendar("Pacific/Pago_Pago", "09:00", "17:00", [1, 2, 3, 4, 5])
    # Monday 10:00 UTC is still Sunday 23:00 in Pago Pago (UTC−11): Monday 09:00 there.
    assert next_open(pago, datetime(2025, 3, 17, 10, 0, tzinfo=UTC)) == datetime(
        2025, 3, 17, 20, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("zone", "start", "end", "days", "field"),
    [
        ("Mars/Olympus", "09:00", "17:00", [1], "timezone"),
        ("UTC", "9am", "17:00", [1], "window_start"),
        ("UTC", "09:00", "24:00", [1], "window_end"),
        ("UTC", "17:00", "09:00", [1], "window_end"),
        ("UTC", "09:00", "17:00", [], "weekdays"),
        ("UTC", "09:00", "17:00", [8], "weekdays"),
    ],
)
def test_bad_calendars_are_refused_by_name(
    zone: str, start: str, end: str, days: list[int], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_calendar(zone, start, end, days)
    assert refused.value.field == field


# --- properties ----------------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2036, 12, 31), timezones=st.just(UTC)
)
clocks = st.times().map(lambda moment: moment.replace(second=0, microsecond=0))


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    start, end = sorted(draw(st.lists(clocks, min_size=2, max_size=2, unique=True)))
    days = draw(st.sets(st.integers(1, 7), min_size=1))
    return Calendar(ZoneInfo(draw(st.sampled_from(ZONES))), start, end, frozenset(days))


def _windows_around(calendar: Calendar, first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    begin = wall(first, calendar.zone).date() - timedelta(days=2)
    span = (wall(last, calendar.zone).date() - begin).days + 3
    found = [window_on(calendar, begin + timedelta(days=n)) for n in range(span)]
    return [window for window in found if window is not None]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2036, 12, 31)))
def test_first_reaching_is_the_first_second_the_clock_shows_it(zone_name: str, shown: datetime) -> None:
    zone = ZoneInfo(zone_name)
    shown = shown.replace(microsecond=0)
    found = first_reaching(shown, zone)
    assert wall(found, zone) >= shown
    assert wall(found - timedelta(seconds=1), zone) < shown


@settings(max_examples=300, deadline=None)
@given(calendars(), moments)
def test_next_open_is_the_earliest_moment_inside_a_window(calendar: Calendar, moment: datetime) -> None:
    found = next_open(calendar, moment)
    assert found >= moment
    windows = _windows_around(calendar, moment, found)
    containing = [w for w in windows if w[0] <= found < w[1]]
    assert containing, "the moment found lies in no window"
    assert found in (moment, containing[0][0])
    # No window holds any moment from the one asked about up to (not including) the one found.
    assert found == moment or not any(opens < found and moment < closes for opens, closes in windows)


@settings(max_examples=300, deadline=None)
@given(calendars(), moments, st.integers(0, 40))
def test_waits_count_business_days_and_land_in_a_window(
    calendar: Calendar, moment: datetime, count: int
) -> None:
    found = after_business_days(calendar, moment, count)
    assert found >= moment and in_window(calendar, found)
    start = wall(moment, calendar.zone).date()
    target = nth_business_day(calendar, start, count)
    landed = wall(found, calendar.zone).date()
    assert landed >= target
    between = [start + timedelta(days=n) for n in range(1, (target - start).days + 1)]
    assert sum(calendar.is_business_day(day) for day in between) == count


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["UTC", "Asia/Kolkata", "Pacific/Kiritimati", "America/Caracas"]),
    moments,
    st.integers(1, 30),
)
def test_without_clock_changes_a_wait_keeps_the_clock_time_inside_the_window(
    zone_name: str, moment: datetime, count: int
) -> None:
    calendar = make_calendar(zone_name, "09:00", "17:00", [1, 2, 3, 4, 5])
    sent = next_open(calendar, moment)
    found = after_business_days(calendar, sent, count)
    shown, then = wall(found, calendar.zone), wall(sent, calendar.zone)
    assert shown.time() == then.time() and time(9) <= shown.time() < time(17)
    assert shown.isoweekday() <= 5
    days = [then.date() + timedelta(days=n) for n in range(1, (shown.date() - then.date()).days + 1)]
    assert sum(day.isoweekday() <= 5 for day in days) == count
