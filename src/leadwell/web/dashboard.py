"""The owner's landing page, outcome first: deals won and revenue in a range of days, what a
qualified lead and a sale cost, the funnel, the channels that bring sales, the activity against its
outcome, and the channel alerts still open; then where the contacts stand. Every figure links to the
report behind it, or to the contacts behind it.

The range is from..to like the reports (default the last 90 days, ``?period=`` keys still work as
quick ranges). Contacts lists filter "since a day" only, so figures link to their contacts when the
range runs to today (the lists then show exactly the counted contacts) and to their report otherwise.
Every figure is set-based SQL, so the page costs the same few queries for any number of contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.orm import Session

from leadwell.channels.monitor import open_alerts
from leadwell.db.models import LIFECYCLE_STAGES, ChannelCheck, Contact, Deal, Engagement, Event
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.reports.activity import activity_summary
from leadwell.reports.catalog import REPORTS
from leadwell.reports.funnel import FUNNEL_STEPS
from leadwell.reports.funnel_report import funnel_figures, funnel_rows
from leadwell.reports.outcomes import outcomes_report
from leadwell.reports.pages import query_params, quick_ranges
from leadwell.reports.query import ReportQuery, parse_query
from leadwell.reports.table import Report, Value, format_value
from leadwell.sales.periods import PERIODS
from leadwell.sales.periods import period as named_period
from leadwell.sales.pipeline import Money, money
from leadwell.web.deps import Page
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
TOP_EVENT_TYPES = 8
TOP_CHANNELS = 5
TOTAL_LABEL = "All"
CHANNEL_COLUMNS = ("leads", "qualified", "sales", "revenue", "spend", "cost_per_sale")
# Where a contacts link goes when the range ends before today ("since a day" lists would count more).
REPORT_OF_FILTER = {
    "deal_since": "outcomes",
    "entered_since": "funnel",
    "event_since": "activity",
    "created_since": "funnel",
}
# The outcomes report's columns the dashboard shows from its "All" row.
COST_FIGURES = (
    ("Cost per qualified lead", "cost_per_qualified"),
    ("Cost per sale", "cost_per_sale"),
)
POOR_FIT = ("D", "E", "F")
OUTCOME_LABELS = {
    "no_answer": "No answer",
    "voicemail": "Voicemail",
    "conversation": "Conversation",
    "meeting_booked": "Meeting booked",
    "not_a_fit": "Not a fit",
    "not_now": "Not now",
    "connected": "Connected",
    "wrong_number": "Wrong number",
    "not_interested": "Not interested",
}


@dataclass(frozen=True)
class EventCount:
    type: str
    events: int
    contacts: int


@dataclass(frozen=True)
class Outcomes:
    """Deals won and lost in the period and the open pipeline, per currency."""

    won: list[Money]
    lost: list[Money]
    open: list[Money]

    @property
    def won_count(self) -> int:
        return sum(row.count for row in self.won)

    @property
    def win_rate(self) -> float | None:
        """Won over closed (won + lost) in the period, by count of deals."""
        closed = self.won_count + sum(row.count for row in self.lost)
        return self.won_count / closed if closed else None


@dataclass(frozen=True)
class OutcomeCount:
    outcome: str
    label: str
    calls: int
    contacts: int


@dataclass(frozen=True)
class Activity:
    """Sales activity in the period: calls by outcome, emails sent, meetings booked, and how many
    calls went to contacts whose best fit grade is D, E or F (effort spent on poor fits)."""

    calls: int
    called: int
    by_outcome: list[OutcomeCount]
    emails: int
    emailed: int
    meetings: int
    met: int
    poor_fit_calls: int
    poor_fit_called: int


@dataclass(frozen=True)
class Figures:
    """What the dashboard shows, computed for one workspace and range."""

    query: ReportQuery
    outcomes: Outcomes
    funnel: list[dict[str, Value]]
    activity: Activity
    contacts: int
    new_contacts: int
    by_stage: list[tuple[str, int]]
    events_by_type: list[EventCount]
    costs: list[tuple[str, str]]
    channels: Report
    activity_summary: list[str]
    alerts: list[ChannelCheck]

    @property
    def calls_per_win(self) -> float | None:
        won = self.outcomes.won_count
        return self.activity.calls / won if won else None

    @property
    def to_today(self) -> bool:
        """Whether the range runs to today, so "since a day" contacts lists match its figures."""
        return self.query.end >= self.query.now.date()


def _within(column: Any, query: ReportQuery) -> Any:
    """``column`` in the range's ``[since, until)``."""
    return (column >= query.since) & (column < query.until)


def _contact_counts(session: Session, query: ReportQuery) -> tuple[int, int]:
    """All live (not merged) contacts, and those created in the range, in one pass."""
    recent = func.count().filter(_within(Contact.created_at, query))
    row = session.execute(
        select(func.count(), recent).where(
            Contact.workspace_id == query.workspace_id, Contact.merged_into_id.is_(None)
        )
    ).one()
    return int(row[0]), int(row[1])


def _by_stage(session: Session, workspace_id: int) -> list[tuple[str, int]]:
    """Contacts per lifecycle stage, in funnel order (unknown stages last, by name)."""
    rows = session.execute(
        select(Contact.stage, func.count())
        .where(Contact.workspace_id == workspace_id, Contact.merged_into_id.is_(None))
        .group_by(Contact.stage)
    ).all()
    rank = {stage: index for index, stage in enumerate(LIFECYCLE_STAGES)}
    ordered = sorted(rows, key=lambda row: (rank.get(row[0], len(rank)), row[0]))
    return [(stage, int(count)) for stage, count in ordered]


def _events_by_type(session: Session, query: ReportQuery) -> list[EventCount]:
    """The most frequent event types in the range, with how many distinct contacts did each."""
    events = func.count().label("events")
    rows = session.execute(
        select(Event.type, events, func.count(distinct(Event.contact_id)))
        .where(Event.workspace_id == query.workspace_id, _within(Event.occurred_at, query))
        .group_by(Event.type)
        .order_by(events.desc(), Event.type)
        .limit(TOP_EVENT_TYPES)
    ).all()
    return [EventCount(kind, int(count), int(people)) for kind, count, people in rows]


def _outcomes(session: Session, query: ReportQuery) -> Outcomes:
    """Open deals, and deals won or lost in the range, per currency, in one GROUP BY."""
    closed = Deal.status.in_(("won", "lost")) & _within(Deal.closed_at, query)
    rows = session.execute(
        select(Deal.status, Deal.currency, func.count(), func.sum(Deal.value))
        .where(Deal.workspace_id == query.workspace_id, or_(Deal.status == "open", closed))
        .group_by(Deal.status, Deal.currency)
        .order_by(Deal.currency)
    )
    sums: dict[str, list[Money]] = {"open": [], "won": [], "lost": []}
    for status, currency, count, total in rows:
        sums[status].append(money(currency, count, total))
    return Outcomes(sums["won"], sums["lost"], sums["open"])


def _activity(session: Session, query: ReportQuery) -> Activity:
    """Calls by outcome, emails sent and meetings booked (one GROUP BY), and the calls to poor
    fits (one more pass, for distinct contacts across outcomes)."""
    # Only calls have an outcome: the other kinds skip reading their JSON.
    outcome = case((Event.type == "call_logged", Event.properties["outcome"].as_string()))
    kinds = ("call_logged", "email_sent", "meeting_booked")
    in_range = (Event.workspace_id == query.workspace_id, _within(Event.occurred_at, query))
    rows = session.execute(
        select(Event.type, outcome, func.count(), func.count(distinct(Event.contact_id)))
        .where(*in_range, Event.type.in_(kinds))
        .group_by(Event.type, outcome)
    ).all()
    poor = Engagement.grade.in_(POOR_FIT)
    calls = session.execute(
        select(
            func.count(),
            func.count(distinct(Event.contact_id)),
            func.count().filter(poor),
            func.count(distinct(Event.contact_id)).filter(poor),
        )
        .select_from(Event)
        .outerjoin(Engagement, Engagement.contact_id == Event.contact_id)
        .where(*in_range, Event.type == "call_logged")
    ).one()
    by_type = {kind: (0, 0) for kind in kinds}
    by_outcome = []
    for kind, said, count, people in rows:
        if kind == "call_logged":
            label = OUTCOME_LABELS.get(said or "", (said or "unknown").replace("_", " "))
            by_outcome.append(OutcomeCount(said or "", label, int(count), int(people)))
        else:
            by_type[kind] = (int(count), int(people))
    order = list(OUTCOME_LABELS)
    by_outcome.sort(
        key=lambda row: (order.index(row.outcome) if row.outcome in order else len(order), row.label)
    )
    return Activity(
        calls=int(calls[0]),
        called=int(calls[1]),
        by_outcome=by_outcome,
        emails=by_type["email_sent"][0],
        emailed=by_type["email_sent"][1],
        meetings=by_type["meeting_booked"][0],
        met=by_type["meeting_booked"][1],
        poor_fit_calls=int(calls[2]),
        poor_fit_called=int(calls[3]),
    )


def _costs(report: Report) -> list[tuple[str, str]]:
    """Cost per qualified lead and per sale from the outcomes report's "All" row, as it prints them."""
    label = report.columns[0].key
    total = next((row for row in report.rows if row.get(label) == TOTAL_LABEL), None)
    if total is None:
        return []
    columns = {column.key: column for column in report.columns}
    return [
        (title, format_value(columns[key], total.get(key), report.currency)) for title, key in COST_FIGURES
    ]


def _top_channels(report: Report) -> Report:
    """The outcomes report by channel without its "All" row, its first rows only."""
    label = report.columns[0].key
    rows = [row for row in report.rows if row.get(label) != TOTAL_LABEL][:TOP_CHANNELS]
    columns = [c for c in report.columns if c.key == label or c.key in CHANNEL_COLUMNS]
    return Report(report.name, report.title, report.query, report.currency, columns, rows)


def dashboard_figures(session: Session, query: ReportQuery) -> Figures:
    """Every dashboard figure for ``query``'s workspace and range."""
    by_channel = outcomes_report(session, query)
    contacts, new_contacts = _contact_counts(session, query)
    return Figures(
        query=query,
        outcomes=_outcomes(session, query),
        funnel=funnel_rows(funnel_figures(session, query)),
        activity=_activity(session, query),
        contacts=contacts,
        new_contacts=new_contacts,
        by_stage=_by_stage(session, query.workspace_id),
        events_by_type=_events_by_type(session, query),
        costs=_costs(by_channel),
        channels=_top_channels(by_channel),
        activity_summary=activity_summary(session, query),
        alerts=open_alerts(session, query.workspace_id),
    )


def dashboard_query(workspace_id: int, params: dict[str, str], today: date) -> ReportQuery:
    """The range asked by ``from``/``to``, or by a legacy ``period`` key (that period up to today),
    by channel and linear attribution (the reports' defaults); :class:`InvalidInput` names a bad one."""
    start, end = params.get("from"), params.get("to")
    key = params.get("period")
    if not start and not end and key in PERIODS:
        quick = {choice.key: choice.start for choice in quick_ranges(today)}
        first = quick.get(key) or named_period(key, today).start
        start, end = first.isoformat(), today.isoformat()
    return parse_query(workspace_id, start=start, end=end)


@router.get("/dashboard", name="dashboard")
def dashboard(request: Request, scope: Page) -> HTMLResponse:
    """The current workspace's outcomes, costs, funnel, channels, activity and alerts over a range."""
    try:
        query = dashboard_query(scope.workspace_id, dict(request.query_params), utcnow().date())
    except InvalidInput as error:
        return render(request, "error.html", 422, scope=scope, status=422, detail=error.detail)
    with scope.db.session() as session:
        figures = dashboard_figures(session, query)
    base = str(request.app.url_path_for("contacts_list"))
    here = str(request.app.url_path_for("dashboard"))

    def report_url(name: str, **changes: Any) -> str:
        return f"/reports/{name}?{query_params(query, REPORTS[name], **changes)}"

    def contacts_url(**params: object) -> str:
        wanted = {name: value for name, value in params.items() if value not in (None, "")}
        bounded = [REPORT_OF_FILTER[name] for name in wanted if name in REPORT_OF_FILTER]
        if bounded and not figures.to_today:
            return report_url(bounded[0])
        return f"{base}?{urlencode(wanted, doseq=True)}" if wanted else base

    ranges = [(r, f"{here}?from={r.start}&to={r.end}") for r in quick_ranges(query.now.date())]
    return render(
        request,
        "dashboard.html",
        scope=scope,
        active="dashboard",
        figures=figures,
        query=query,
        contacts_url=contacts_url,
        report_url=report_url,
        ranges=ranges,
        steps=FUNNEL_STEPS,
        pipeline_url=str(request.app.url_path_for("pipeline_board")),
        poor_fit=POOR_FIT,
        format_value=format_value,
    )
