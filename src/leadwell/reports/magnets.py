"""The lead-magnet report: each magnet's views → submissions → read ≥ 50 % → called → sale.

The people are those who submitted a form for the magnet in the range (``form_submitted`` events
whose ``asset`` is its slug, each person once, from their first submission in the range); what
they did next is read up to now:

- ``views``: distinct people (and anonymous browsers) who, in the range, viewed a landing page
  whose form gates the magnet or opened the magnet in the hosted reader (``asset_downloaded``);
- ``read``: submitters with a ``read_progress`` or ``video_progress`` event for it at ≥ 50 %;
- ``called``: submitters with a ``call_logged`` event at or after their submission;
- ``sales``: submitters who became customers at or after their submission.

Read, called and sale each count among all submitters (a call does not wait for a reading), so
a step's conversion from the previous one can pass 100 %; ``sale per submission`` is the
magnet's bottom line."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from leadwell.db.models import Asset, Event, Form, LandingPage, StageChange
from leadwell.reports.charts import grouped_bar_chart
from leadwell.reports.costs import report_currency
from leadwell.reports.funnel import _since
from leadwell.reports.funnel_report import percent_text, share
from leadwell.reports.query import ReportQuery
from leadwell.reports.table import Column, Report, Value

MIN_SUBMISSIONS = 5  # fewer than this, a sale rate is an anecdote
READ_SHARE = 50.0
COLUMNS = [
    Column("magnet", "Lead magnet"),
    Column("views", "Views", "count"),
    Column("submissions", "Submissions", "count"),
    Column("submit_rate", "Views → submissions", "percent"),
    Column("read", "Read ≥ 50 %", "count"),
    Column("read_rate", "Submissions → read", "percent"),
    Column("called", "Called", "count"),
    Column("called_rate", "Read → called", "percent"),
    Column("sales", "Sales", "count"),
    Column("sale_rate", "Called → sale", "percent"),
    Column("sale_per_submission", "Submission → sale", "percent"),
]
CHART_STEPS = {"submissions": "Submissions", "read": "Read ≥ 50 %", "called": "Called", "sales": "Sale"}


def _in_range(column: Any, query: ReportQuery) -> ColumnElement[bool]:
    return and_(column >= _since(query.since), column < _since(query.until))


def submitted(query: ReportQuery) -> CTE:
    """(asset_id, contact_id, first_at): each person's first submission for each magnet in the range."""
    slug = Event.properties["asset"].as_string().label("slug")
    events = (
        select(slug, Event.contact_id, func.min(Event.occurred_at).label("first_at"))
        .where(
            Event.workspace_id == query.workspace_id,
            Event.type == "form_submitted",
            Event.contact_id.is_not(None),
            _in_range(Event.occurred_at, query),
        )
        .group_by(slug, Event.contact_id)
        .subquery()
    )
    return (
        select(Asset.id.label("asset_id"), events.c.contact_id, events.c.first_at)
        .join(Asset, and_(Asset.workspace_id == query.workspace_id, Asset.slug == events.c.slug))
        .cte("submitted")
    )


def _flags(query: ReportQuery, people: CTE) -> tuple[ColumnElement[bool], ...]:
    """Whether each submitter read half, was called, became a customer (up to now)."""
    now = _since(query.now)
    read = exists().where(
        Event.workspace_id == query.workspace_id,
        Event.contact_id == people.c.contact_id,
        Event.type.in_(("read_progress", "video_progress")),
        Event.properties["asset"].as_string() == Asset.slug,
        Event.properties["percent"].as_float() >= READ_SHARE,
        Event.occurred_at < now,
    )
    called = exists().where(
        Event.workspace_id == query.workspace_id,
        Event.contact_id == people.c.contact_id,
        Event.type == "call_logged",
        Event.occurred_at >= people.c.first_at,
        Event.occurred_at < now,
    )
    sold = exists().where(
        StageChange.contact_id == people.c.contact_id,
        StageChange.to_stage == "customer",
        StageChange.changed_at >= people.c.first_at,
        StageChange.changed_at < now,
    )
    return read, called, sold


def _step_counts(session: Session, query: ReportQuery) -> dict[int, tuple[int, int, int, int]]:
    """Per asset id: submissions, read, called, sales."""
    people = submitted(query)
    flags = _flags(query, people)
    rows = session.execute(
        select(people.c.asset_id, func.count(), *(func.sum(case((flag, 1), else_=0)) for flag in flags))
        .select_from(people)
        .join(Asset, Asset.id == people.c.asset_id)
        .group_by(people.c.asset_id)
    )
    return {int(a): (int(n), int(r or 0), int(c or 0), int(s or 0)) for a, n, r, c, s in rows}


def _views(session: Session, query: ReportQuery) -> dict[int, int]:
    """Per asset id: distinct viewers of its landing pages or openers of it in the reader."""
    page = Event.properties["page"].as_string()
    pages = (
        select(Form.asset_id, Event.contact_id, Event.visitor_id)
        .select_from(Event)
        .join(LandingPage, and_(LandingPage.workspace_id == query.workspace_id, LandingPage.slug == page))
        .join(Form, Form.id == LandingPage.form_id)
        .where(Form.asset_id.is_not(None))
        .where(Event.workspace_id == query.workspace_id, Event.type == "page_viewed")
        .where(_in_range(Event.occurred_at, query))
    )
    opened_slug = Event.properties["asset"].as_string()
    opened = (
        select(Asset.id, Event.contact_id, cast(null(), BigInteger).label("visitor_id"))
        .select_from(Event)
        .join(Asset, and_(Asset.workspace_id == query.workspace_id, Asset.slug == opened_slug))
        .where(Event.workspace_id == query.workspace_id, Event.type == "asset_downloaded")
        .where(_in_range(Event.occurred_at, query))
    )
    seen = union_all(pages, opened).subquery()
    asset_id, contact_id, visitor_id = seen.c
    # An anonymous browser is one viewer; once identified its views carry the contact.
    anonymous = case((contact_id.is_(None), visitor_id))
    people = func.count(distinct(contact_id)) + func.count(distinct(anonymous))
    rows = session.execute(select(asset_id, people).group_by(asset_id))
    return {int(a): int(n) for a, n in rows}


def _row(title: str, views: int, counts: tuple[int, int, int, int]) -> dict[str, Value]:
    submissions, read, called, sales = counts
    return {
        "magnet": title,
        "views": views,
        "submissions": submissions,
        "submit_rate": share(submissions, views),
        "read": read,
        "read_rate": share(read, submissions),
        "called": called,
        "called_rate": share(called, read),
        "sales": sales,
        "sale_rate": share(sales, called),
        "sale_per_submission": share(sales, submissions),
    }


def magnet_rows(session: Session, query: ReportQuery) -> list[dict[str, Value]]:
    """One row per magnet: the live ones, and archived ones with submissions in the range."""
    counts = _step_counts(session, query)
    views = _views(session, query)
    assets = session.execute(
        select(Asset.id, Asset.title)
        .where(Asset.workspace_id == query.workspace_id)
        .where(or_(Asset.archived_at.is_(None), Asset.id.in_(list(counts))))
        .order_by(Asset.title, Asset.id)
    )
    return [_row(title, views.get(a, 0), counts.get(a, (0, 0, 0, 0))) for a, title in assets]


def _summary(rows: list[dict[str, Value]]) -> list[str]:
    ranked = [row for row in rows if int(row["submissions"] or 0) >= MIN_SUBMISSIONS]
    if not ranked:
        return [f"No magnet has {MIN_SUBMISSIONS} submissions in this range yet: too few to compare."]
    best = max(ranked, key=lambda row: float(row["sale_per_submission"] or 0))
    rate = float(best["sale_per_submission"] or 0)
    return [
        f"Best magnet: {best['magnet']}, {best['sales']} of {best['submissions']} submissions became "
        f"sales ({percent_text(rate)})."
    ]


def magnets_report(session: Session, query: ReportQuery) -> Report:
    """Each lead magnet's views → submissions → read ≥ 50 % → called → sale for the range."""
    rows = magnet_rows(session, query)
    long_form = [
        {"magnet": row["magnet"], "step": label, "people": row[key]}
        for row in rows
        for key, label in CHART_STEPS.items()
    ]
    chart = grouped_bar_chart(
        "Submissions to sale by magnet", long_form, "magnet", "step", "people", "People"
    )
    return Report(
        name="magnets",
        title="Lead magnets",
        query=query,
        currency=report_currency(session, query.workspace_id),
        columns=COLUMNS,
        rows=rows,
        charts=[chart],
        summary=_summary(rows),
        notes=[
            "Read, called and sale count among all submitters, so a step can pass 100 % of the one before."
        ],
    )
