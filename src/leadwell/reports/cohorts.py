"""The cohort report: the range's leads by calendar month (UTC) of capture, each followed to now.

A month of last year has had its time to turn leads into sales; last month has not. So each row
carries its age (days from the month's end, or the range's end, to now) and its ``maturity``: the
share of the workspace's past sales (capture → won, over every won contact ever) that had happened
by that age. A month younger than the median time to win is flagged "too early to judge", and the
summary names the best month among the mature ones only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import CTE, Float, case, cast, func, literal, select
from sqlalchemy.orm import Session

from leadwell.reports.charts import line_chart
from leadwell.reports.costs import report_currency
from leadwell.reports.facts import deals_note, lead_facts, other_currency_deals
from leadwell.reports.funnel import _days, _since, cohort, won_candidates
from leadwell.reports.funnel_report import percent_text, share
from leadwell.reports.query import ReportQuery
from leadwell.reports.table import Column, Report, Value

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_SECONDS = 86400.0
TOO_EARLY = "too early to judge"
MATURE = "mature"
NO_PAST_SALES = "no past sales"
COLUMNS = [
    Column("month", "Month"),
    Column("captured", "Captured", "count"),
    Column("qualified", "Qualified", "count"),
    Column("won", "Won", "count"),
    Column("revenue", "Revenue", "money"),
    Column("qualified_rate", "To qualified", "percent"),
    Column("won_rate", "To won", "percent"),
    Column("age_days", "Age (days)", "days"),
    Column("maturity", "Maturity", "percent"),
    Column("status", "Status"),
]


@dataclass(frozen=True)
class Month:
    """A calendar month cut to the range: ``[start, end)``."""

    label: str
    start: datetime
    end: datetime


def months(query: ReportQuery) -> list[Month]:
    """The calendar months the range touches, each cut to ``[since, until)``."""
    found: list[Month] = []
    first = query.since.replace(day=1)
    while first < query.until:
        following = (first + timedelta(days=32)).replace(day=1)
        found.append(Month(f"{first:%Y-%m}", max(first, query.since), min(following, query.until)))
        first = following
    return found


def _month_counts(
    session: Session, query: ReportQuery, currency: str, spans: list[Month]
) -> dict[int, tuple[int, int, int, float]]:
    """Per month index: captured, qualified, won, revenue."""
    facts = lead_facts(query, currency)
    index = case(
        *((facts.c.captured_at < _since(span.end), literal(i)) for i, span in enumerate(spans)),
        else_=literal(len(spans)),
    ).label("month")
    rows = session.execute(
        select(
            index,
            func.count(),
            func.sum(facts.c.qualified),
            func.sum(facts.c.won),
            func.coalesce(func.sum(facts.c.revenue), 0.0),
        ).group_by(index)
    )
    return {int(i): (int(n), int(q or 0), int(w or 0), float(r)) for i, n, q, w, r in rows}


def win_times(
    session: Session, workspace_id: int, ages: list[float]
) -> tuple[float | None, list[float | None]]:
    """The median days from capture to won over every won contact ever, and for each of ``ages``
    the share of those contacts won within that many days (None without past sales)."""
    # Only contacts that may have been won are followed (not every contact ever), and the
    # durations are read once for the median and the shares.
    every = cohort(workspace_id, EPOCH, won_candidates(workspace_id))
    dialect = session.get_bind().dialect.name
    durations: CTE = (
        select(_days(dialect, every.c.at_1, every.c.at_5).label("days"))
        .where(every.c.reached_5 == 1, every.c.at_1.is_not(None), every.c.at_5.is_not(None))
        .cte("durations")
    )
    ranked = select(
        durations.c.days,
        func.row_number().over(order_by=durations.c.days).label("rn"),
        func.count().over().label("n"),
    ).subquery()
    middle = (ranked.c.rn == (ranked.c.n + 1) // 2) | (ranked.c.rn == (ranked.c.n + 2) // 2)
    within = [func.sum(case((ranked.c.days <= age, 1), else_=0)) for age in ages]
    median_of = func.avg(case((middle, ranked.c.days)))
    total, median, *counts = session.execute(select(func.count(), cast(median_of, Float), *within)).one()
    if not total or median is None:
        return None, [None for _ in ages]
    return float(median), [int(count or 0) / int(total) for count in counts]


def cohort_rows(
    spans: list[Month], counts: dict[int, tuple[int, int, int, float]], ages: list[float],
    maturity: list[float | None], median: float | None,
) -> list[dict[str, Value]]:  # fmt: skip
    """One row per month, zeros for a month without captures."""
    rows: list[dict[str, Value]] = []
    for i, span in enumerate(spans):
        captured, qualified, won, revenue = counts.get(i, (0, 0, 0, 0.0))
        status = NO_PAST_SALES if median is None else TOO_EARLY if ages[i] < median else MATURE
        rows.append(
            {
                "month": span.label,
                "captured": captured,
                "qualified": qualified,
                "won": won,
                "revenue": round(revenue, 2),
                "qualified_rate": share(qualified, captured),
                "won_rate": share(won, captured),
                "age_days": ages[i],
                "maturity": maturity[i],
                "status": status,
            }
        )
    return rows


def _summary(rows: list[dict[str, Value]], median: float | None) -> list[str]:
    if median is None:
        return ["No contact has been won yet, so no month can be judged by its age."]
    said = [f"Sales usually come {median:.0f} days after capture (the median of all past sales)."]
    mature = [row for row in rows if row["status"] == MATURE and row["won_rate"] is not None]
    if not mature:
        return [*said, "No month of this range is old enough to judge yet."]
    best = max(mature, key=lambda row: float(row["won_rate"] or 0))
    rate = float(best["won_rate"] or 0)
    said.append(
        f"Best mature month: {best['month']}, {best['won']} of {best['captured']} leads won "
        f"({percent_text(rate)})."
    )
    return said


def cohorts_report(session: Session, query: ReportQuery) -> Report:
    """Captured, qualified, won and revenue by month of capture, with each month's maturity."""
    currency = report_currency(session, query.workspace_id)
    spans = months(query)
    # Age is measured from when the month (or the range) ended; a month still running is 0 days old.
    ages = [max(0.0, (query.now - span.end).total_seconds() / DAY_SECONDS) for span in spans]
    median, maturity = win_times(session, query.workspace_id, ages)
    rows = cohort_rows(spans, _month_counts(session, query, currency, spans), ages, maturity, median)
    chart = line_chart(
        "Conversion to won by month of capture", rows, "month", "won_rate", "To won", "percent"
    )
    notes = ["Outcomes are read up to now: young months are still maturing."]
    notes += deals_note(other_currency_deals(session, query, currency), currency)
    return Report(
        name="cohorts",
        title="Cohorts",
        query=query,
        currency=currency,
        columns=COLUMNS,
        rows=rows,
        charts=[chart],
        summary=_summary(rows, median),
        notes=notes,
    )
