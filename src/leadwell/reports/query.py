"""What a report is asked: the workspace, a range of days, the attribution model and the dimension.

Ranges are whole days in UTC, both ends included, as people say them ("1 to 31 October"); the
queries read ``[since, until)``. Leads are counted in the range they were captured in and followed to
what they became by ``now``, so a report of last quarter keeps improving as its leads mature
(the cohort report shows how far each month has come)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput

ATTRIBUTION_MODELS: dict[str, str] = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "position_based": "Position-based (40/20/40)",
}
DIMENSIONS: dict[str, str] = {
    "channel": "Channel",
    "campaign": "Campaign",
    "magnet": "Lead magnet",
    "landing_page": "Landing page",
    "grade": "ICP grade",
}
DEFAULT_ATTRIBUTION = "linear"
DEFAULT_DIMENSION = "channel"
DEFAULT_DAYS = 90
# Long enough for a quarter's cohorts, short enough that one query never reads decades.
MAX_DAYS = 3 * 366 + 1


@dataclass(frozen=True)
class ReportQuery:
    """One report's question. ``start`` and ``end`` are the first and last day (inclusive);
    ``now`` is when outcomes are read up to (tests pin it)."""

    workspace_id: int
    start: date
    end: date
    attribution: str = DEFAULT_ATTRIBUTION
    dimension: str = DEFAULT_DIMENSION
    now: datetime = field(default_factory=utcnow)

    @property
    def since(self) -> datetime:
        """Midnight UTC of the first day."""
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        """Midnight UTC after the last day (the range's open end)."""
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """The range in words: "1 Oct 2026 – 31 Dec 2026"."""
        return f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}"


def _day(value: str | None, name: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name}: {value!r} is not a date (YYYY-MM-DD)", field=name) from None


def parse_query(
    workspace_id: int,
    *,
    start: str | None = None,
    end: str | None = None,
    attribution: str | None = None,
    dimension: str | None = None,
    now: datetime | None = None,
) -> ReportQuery:
    """A query from text (URL parameters, CLI options), checked: a bad value is an
    :class:`InvalidInput` naming its parameter (``from``, ``to``, ``attribution``, ``by``).
    Without dates, the last 90 days ending today; with only one end, 90 days from or to it."""
    moment = now or utcnow()
    first, last = _day(start, "from"), _day(end, "to")
    if last is None:
        last = (
            moment.date() if first is None else min(first + timedelta(days=DEFAULT_DAYS - 1), moment.date())
        )
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InvalidInput(f"to: {last} is before from ({first})", field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"to: a range is at most {MAX_DAYS} days", field="to")
    model = (attribution or DEFAULT_ATTRIBUTION).strip()
    if model not in ATTRIBUTION_MODELS:
        known = ", ".join(ATTRIBUTION_MODELS)
        raise InvalidInput(f"attribution: {model!r} is not one of {known}", field="attribution")
    by = (dimension or DEFAULT_DIMENSION).strip()
    if by not in DIMENSIONS:
        raise InvalidInput(f"by: {by!r} is not one of {', '.join(DIMENSIONS)}", field="by")
    return ReportQuery(workspace_id, first, last, model, by, moment)
