"""The funnel report: the leads captured in a closed range, followed to MQL, SQL, opportunity and won.

The cohort is :func:`leadwell.reports.funnel.cohort` (the dashboard's definition of entering the
funnel and of reaching each step) cut at the range's end: the contacts whose ``at_1`` lies in
``[since, until)``. Each step shows how many reached it, the share of the previous step and of the
captured leads, and the median days from the previous step (skipped steps take no time)."""

from __future__ import annotations

from sqlalchemy import CTE, Float, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from leadwell.reports.charts import bar_chart
from leadwell.reports.costs import report_currency
from leadwell.reports.funnel import FUNNEL_STEPS, STEP_LABELS, STEPS, _medians, _since, cohort
from leadwell.reports.query import ReportQuery
from leadwell.reports.table import Column, Report, Value

COLUMNS = [
    Column("step", "Step"),
    Column("contacts", "Contacts", "count"),
    Column("from_previous", "From previous step", "percent"),
    Column("from_captured", "From captured", "percent"),
    Column("median_days", "Median days from previous", "days"),
]


def share(part: float, whole: float) -> float | None:
    """``part / whole``, None when there is nothing to divide by."""
    return part / whole if whole else None


def percent_text(value: float) -> str:
    """A share as a sentence says it: "22 %"."""
    return f"{value * 100:.0f} %"


def captured_cohort(query: ReportQuery) -> CTE:
    """The leads captured in the query's range: ``funnel.cohort`` rows with ``at_1`` before ``until``
    (the cohort itself runs to now, so its lower bound is the range's start)."""
    entered = cohort(query.workspace_id, query.since)
    return select(entered).where(entered.c.at_1 < _since(query.until)).cte("captured")


def funnel_figures(session: Session, query: ReportQuery) -> dict[tuple[str, int], float]:
    """``("count", k)`` and ``("median", k)`` figures of the range's cohort, in one statement."""
    captured = captured_cohort(query)
    counts = (
        select(
            literal("count").label("kind"),
            literal(k).label("step"),
            cast(func.coalesce(func.sum(captured.c[f"reached_{k}"]), 0), Float),
        )
        for k in STEPS
    )
    dialect = session.get_bind().dialect.name
    rows = session.execute(union_all(*counts, _medians(dialect, captured)))
    return {(str(kind), int(step)): float(value) for kind, step, value in rows if value is not None}


def funnel_rows(figures: dict[tuple[str, int], float]) -> list[dict[str, Value]]:
    """One row per step with its conversions and median days."""
    rows: list[dict[str, Value]] = []
    captured = int(figures.get(("count", 1), 0))
    for k, stage in zip(STEPS, FUNNEL_STEPS, strict=True):
        contacts = int(figures.get(("count", k), 0))
        previous = rows[-1]["contacts"] if rows else None
        rows.append(
            {
                "step": "Captured" if k == 1 else STEP_LABELS[stage],
                "contacts": contacts,
                "from_previous": None if previous is None else share(contacts, float(previous or 0)),
                "from_captured": share(contacts, captured),
                "median_days": figures.get(("median", k)),
            }
        )
    return rows


def weakest_step(rows: list[dict[str, Value]]) -> str | None:
    """ "Biggest drop: MQL → SQL, 22 % convert", or None when no step has a rate."""
    rated = [
        (float(row["from_previous"]), index)
        for index, row in enumerate(rows)
        if index > 0 and row["from_previous"] is not None
    ]
    if not rated:
        return None
    rate, index = min(rated)
    return f"Biggest drop: {rows[index - 1]['step']} → {rows[index]['step']}, {percent_text(rate)} convert."


def funnel_report(session: Session, query: ReportQuery) -> Report:
    """Captured → MQL → SQL → opportunity → won for the leads captured in the range."""
    rows = funnel_rows(funnel_figures(session, query))
    captured = int(rows[0]["contacts"] or 0)
    summary = [f"{captured} leads captured; {rows[-1]['contacts']} won so far."]
    weakest = weakest_step(rows)
    if weakest:
        summary.append(weakest)
    chart = bar_chart("Funnel", rows, "step", "contacts", "Contacts", keep_order=True)
    return Report(
        name="funnel",
        title="Funnel",
        query=query,
        currency=report_currency(session, query.workspace_id),
        columns=COLUMNS,
        rows=rows,
        charts=[chart],
        summary=summary,
        notes=["Outcomes are read up to now: recent leads may still move on."],
    )
