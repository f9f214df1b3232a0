"""Reporting periods: each starts at midnight UTC of a day and runs until now, so "since that day"
is the only bound a query (or a contacts list link) needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class Period:
    """A named period: ``key`` travels in URLs (``?period=last_90``), ``start`` is its first day."""

    key: str
    label: str
    start: date

    @property
    def since(self) -> datetime:
        """The period's first moment, midnight UTC."""
        return datetime.combine(self.start, time(), UTC)


PERIODS: dict[str, str] = {
    "this_month": "This month",
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "this_quarter": "This quarter",
    "this_year": "This year",
}
# Rolling, so the landing page is never empty on the first of a month, and long enough for leads
# entering the funnel to have had time to move along it.
DEFAULT_PERIOD = "last_90"


def _start(key: str, today: date) -> date:
    if key == "this_month":
        return today.replace(day=1)
    if key == "last_30":
        return today - timedelta(days=30)
    if key == "this_quarter":
        return today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    if key == "this_year":
        return today.replace(month=1, day=1)
    return today - timedelta(days=90)


def period(key: str | None, today: date) -> Period:
    """The period ``key`` names, ending ``today``; an unknown or missing key gives the default."""
    chosen = key if key in PERIODS else DEFAULT_PERIOD
    return Period(chosen, PERIODS[chosen], _start(chosen, today))


def all_periods(today: date) -> list[Period]:
    """Every period, in the order the selector offers them."""
    return [period(key, today) for key in PERIODS]
