"""Activity vs outcome: calls, emails and meetings beside the deals they led to, by person and channel.

Activity is counted by event time in ``[since, until)``: ``call_logged``, ``email_sent`` and
``meeting_booked`` events. Deals won are the deals closed won in the range. A person is the
contact's owner for activity (call events do not record who called) and the deal's owner for won
deals; a channel is the contact's first touch (:func:`leadwell.reports.attribution.credits` under
``first_touch``, for every contact the range's activity or deals concern, whenever it came).

"Activity without outcome" is the calls and emails of the range to contacts that have not reached
SQL by now and have no open or won deal: effort that has not turned into a conversation with sales.
Its share is of the range's calls and emails."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Deal, Event, StageChange, User
from leadwell.reports.attribution import credits
from leadwell.reports.charts import bar_chart
from leadwell.reports.costs import report_currency
from leadwell.reports.funnel import _since
from leadwell.reports.funnel_report import percent_text, share
from leadwell.reports.names import channel_label, channel_names
from leadwell.reports.query import ReportQuery
from leadwell.reports.table import Column, Report, Value

ACTIVITY = {"call_logged": "calls", "email_sent": "emails", "meeting_booked": "meetings"}
WON = "won"
SALES_STAGES = ("sql", "opportunity", "customer")
UNASSIGNED = "Unassigned"
COLUMNS = [
    Column("group", "Group"),
    Column("name", "Name"),
    Column("calls", "Calls", "count"),
    Column("emails", "Emails sent", "count"),
    Column("meetings", "Meetings", "count"),
    Column("won", "Deals won", "count"),
    Column("calls_per_won", "Calls per won deal", "number"),
    Column("emails_per_won", "Emails per won deal", "number"),
    Column("meetings_per_won", "Meetings per won deal", "number"),
    Column("calls_no_outcome", "Calls without outcome", "count"),
    Column("emails_no_outcome", "Emails without outcome", "count"),
    Column("no_outcome_share", "Share without outcome", "percent"),
]
FIGURES = ("calls", "emails", "meetings", "won", "calls_no_outcome", "emails_no_outcome")


def _no_outcome(query: ReportQuery) -> ColumnElement[bool]:
    """Whether the event's contact has not reached SQL by now and has no open or won deal. A stage
    change from or to a sales stage shows it was there (a contact created in SQL leaves from it)."""
    now = _since(query.now)
    reached_sql = or_(
        Contact.stage.in_(SALES_STAGES),
        exists().where(
            StageChange.contact_id == Contact.id,
            or_(StageChange.to_stage.in_(SALES_STAGES), StageChange.from_stage.in_(SALES_STAGES)),
            StageChange.changed_at < now,
        ),
    )
    dealing = exists().where(
        Deal.contact_id == Contact.id, Deal.status.in_(("open", WON)), Deal.created_at < now
    )
    return not_(or_(reached_sql, dealing))


def items(query: ReportQuery) -> CTE:
    """Each activity event of the range and each deal won in it: ``kind`` (the event type or
    "won"), ``contact_id``, ``owner_id`` and ``no_outcome`` (1 when the contact has no outcome)."""
    since, until = _since(query.since), _since(query.until)
    events = (
        select(
            Event.type.label("kind"),
            Event.contact_id,
            Contact.owner_id,
            case((_no_outcome(query), 1), else_=0).label("no_outcome"),
        )
        .join(Contact, Contact.id == Event.contact_id)
        .where(Event.workspace_id == query.workspace_id, Event.type.in_(list(ACTIVITY)))
        .where(Event.occurred_at >= since, Event.occurred_at < until)
    )
    won = select(literal(WON).label("kind"), Deal.contact_id, Deal.owner_id, literal(0)).where(
        Deal.workspace_id == query.workspace_id,
        Deal.status == WON,
        Deal.closed_at >= since,
        Deal.closed_at < until,
    )
    return union_all(events, won).cte("activity_items")


def _sums(rows: CTE) -> list[ColumnElement[Any]]:
    """The figures of :data:`FIGURES`, in order, summed over ``rows``."""

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)

    flagged = rows.c.no_outcome == 1
    return [
        count(rows.c.kind == "call_logged"),
        count(rows.c.kind == "email_sent"),
        count(rows.c.kind == "meeting_booked"),
        count(rows.c.kind == WON),
        count(rows.c.kind == "call_logged", flagged),
        count(rows.c.kind == "email_sent", flagged),
    ]


def first_touches(query: ReportQuery, per_contact: Subquery) -> Subquery:
    """The first-touch credit (channel_id, source_key) of every contact of ``per_contact`` (a
    contact id and its summed :data:`FIGURES`), cut at the moment each became a customer like any
    attribution, carrying its figures (one credit per contact: the first touch has weight 1)."""
    won_at = (
        select(StageChange.contact_id, func.min(StageChange.changed_at).label("won_at"))
        .where(StageChange.workspace_id == query.workspace_id, StageChange.to_stage == "customer")
        .group_by(StageChange.contact_id)
        .subquery("won_moments")
    )
    leads = (
        select(per_contact, won_at.c.won_at)
        .outerjoin(won_at, won_at.c.contact_id == per_contact.c.contact_id)
        .cte("activity_leads")
    )
    return credits(query, "first_touch", leads=leads, carry=FIGURES)


def _row(group: str, name: str, figures: tuple[int, ...]) -> dict[str, Value]:
    row: dict[str, Value] = {"group": group, "name": name, **dict(zip(FIGURES, figures, strict=True))}
    calls, emails, meetings, won, calls_no, emails_no = figures
    row["calls_per_won"] = share(calls, won)
    row["emails_per_won"] = share(emails, won)
    row["meetings_per_won"] = share(meetings, won)
    row["no_outcome_share"] = share(calls_no + emails_no, calls + emails)
    return row


def person_rows(session: Session, query: ReportQuery, rows: CTE) -> list[dict[str, Value]]:
    """One row per owner (of the contact for activity, of the deal for won deals)."""
    name = func.coalesce(func.nullif(User.name, ""), User.email)
    result = session.execute(
        select(rows.c.owner_id, name, *_sums(rows))
        .outerjoin(User, User.id == rows.c.owner_id)
        .group_by(rows.c.owner_id, name)
    )
    found = [
        _row("Person", label or UNASSIGNED, tuple(int(v) for v in figures)) for _, label, *figures in result
    ]
    return sorted(found, key=lambda row: (-int(row["calls"] or 0), str(row["name"])))


def channel_rows(session: Session, query: ReportQuery, rows: CTE) -> list[dict[str, Value]]:
    """One row per first-touch channel (or unmapped source key) of the contacts concerned."""
    # Summed per contact first, then carried by each contact's one first-touch credit: no join
    # between the events and the credits (SQLite would scan the credits once per row).
    sums = [column.label(name) for column, name in zip(_sums(rows), FIGURES, strict=True)]
    per_contact = select(rows.c.contact_id, *sums).group_by(rows.c.contact_id).subquery("per_contact")
    first = first_touches(query, per_contact)
    result = session.execute(
        select(
            first.c.channel_id, first.c.source_key, *(func.sum(first.c[name]) for name in FIGURES)
        ).group_by(first.c.channel_id, first.c.source_key)
    )
    names = channel_names(session, query.workspace_id)
    found = [
        _row("Channel", channel_label(names, channel_id, key), tuple(int(v) for v in figures))
        for channel_id, key, *figures in result
    ]
    return sorted(found, key=lambda row: (-int(row["calls"] or 0), str(row["name"])))


def _summary(people: list[dict[str, Value]]) -> list[str]:
    calls = sum(int(row["calls"] or 0) for row in people)
    if not calls:
        return ["No calls were logged in this range."]
    idle = sum(int(row["calls_no_outcome"] or 0) for row in people)
    won = sum(int(row["won"] or 0) for row in people)
    said = [
        f"{percent_text(idle / calls)} of calls went to people who never reached SQL "
        f"(and have no open or won deal)."
    ]
    said.append(f"{calls / won:.1f} calls per won deal." if won else "No deal was won in this range.")
    return said


def activity_summary(session: Session, query: ReportQuery) -> list[str]:
    """The report's summary sentences alone (the dashboard's headline): from the rows per person,
    without the first-touch channels, which cost most of the report."""
    return _summary(person_rows(session, query, items(query)))


def activity_report(session: Session, query: ReportQuery) -> Report:
    """Calls, emails, meetings and deals won by person and by first-touch channel, with the
    activity that led to no outcome."""
    rows = items(query)
    people = person_rows(session, query, rows)
    channels = channel_rows(session, query, rows)
    plotted = [row for row in people if row["calls_per_won"] is not None]
    chart = bar_chart("Calls per won deal by person", plotted, "name", "calls_per_won", "Calls per won deal")
    return Report(
        name="activity",
        title="Activity vs outcome",
        query=query,
        currency=report_currency(session, query.workspace_id),
        columns=COLUMNS,
        rows=people + channels,
        charts=[chart],
        summary=_summary(people),
        notes=[
            "Activity is credited to the contact's owner (calls do not record who called); deals "
            "won to the deal's owner. Channels are each contact's first touch."
        ],
    )
