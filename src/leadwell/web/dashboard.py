"""The owner's landing page: outcomes first (deals won, revenue, the funnel), the activity behind
them beside, and where the contacts stand. Every figure links to the contacts behind it.

Every figure is set-based SQL (COUNT/SUM with GROUP BY, window functions for the funnel's medians),
so the page costs the same handful of queries for a hundred contacts or a million. Periods start at
midnight UTC and run until now, so the contact lists the figures link to, filtered "since a day",
show exactly the counted contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.orm import Session

from leadwell.db.models import LIFECYCLE_STAGES, Contact, Deal, Engagement, Event
from leadwell.db.types import utcnow
from leadwell.reports.funnel import Step, funnel
from leadwell.sales.periods import Period, all_periods
from leadwell.sales.periods import period as named_period
from leadwell.sales.pipeline import Money, money
from leadwell.web.deps import Page
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
TOP_EVENT_TYPES = 8
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
    """What the dashboard shows, computed for one workspace and period."""

    period: Period
    outcomes: Outcomes
    funnel: list[Step]
    activity: Activity
    contacts: int
    new_contacts: int
    by_stage: list[tuple[str, int]]
    events_by_type: list[EventCount]

    @property
    def calls_per_win(self) -> float | None:
        won = self.outcomes.won_count
        return self.activity.calls / won if won else None


def _contact_counts(session: Session, workspace_id: int, since: datetime) -> tuple[int, int]:
    """All live (not merged) contacts, and those created since ``since``, in one pass."""
    recent = func.count().filter(Contact.created_at >= since)
    row = session.execute(
        select(func.count(), recent).where(
            Contact.workspace_id == workspace_id, Contact.merged_into_id.is_(None)
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


def _events_by_type(session: Session, workspace_id: int, since: datetime) -> list[EventCount]:
    """The most frequent event types since ``since``, with how many distinct contacts did each."""
    events = func.count().label("events")
    rows = session.execute(
        select(Event.type, events, func.count(distinct(Event.contact_id)))
        .where(Event.workspace_id == workspace_id, Event.occurred_at >= since)
        .group_by(Event.type)
        .order_by(events.desc(), Event.type)
        .limit(TOP_EVENT_TYPES)
    ).all()
    return [EventCount(kind, int(count), int(people)) for kind, count, people in rows]


def _outcomes(session: Session, workspace_id: int, since: datetime) -> Outcomes:
    """Open deals, and deals won or lost since ``since``, per currency, in one GROUP BY."""
    closed = Deal.status.in_(("won", "lost")) & (Deal.closed_at >= since)
    rows = session.execute(
        select(Deal.status, Deal.currency, func.count(), func.sum(Deal.value))
        .where(Deal.workspace_id == workspace_id, or_(Deal.status == "open", closed))
        .group_by(Deal.status, Deal.currency)
        .order_by(Deal.currency)
    )
    sums: dict[str, list[Money]] = {"open": [], "won": [], "lost": []}
    for status, currency, count, total in rows:
        sums[status].append(money(currency, count, total))
    return Outcomes(sums["won"], sums["lost"], sums["open"])


def _activity(session: Session, workspace_id: int, since: datetime) -> Activity:
    """Calls by outcome, emails sent and meetings booked (one GROUP BY), and the calls to poor
    fits (one more pass, for distinct contacts across outcomes)."""
    # Only calls have an outcome: the other kinds skip reading their JSON.
    outcome = case((Event.type == "call_logged", Event.properties["outcome"].as_string()))
    kinds = ("call_logged", "email_sent", "meeting_booked")
    in_period = (Event.workspace_id == workspace_id, Event.type.in_(kinds), Event.occurred_at >= since)
    rows = session.execute(
        select(Event.type, outcome, func.count(), func.count(distinct(Event.contact_id)))
        .where(*in_period)
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
        .where(Event.workspace_id == workspace_id, Event.type == "call_logged", Event.occurred_at >= since)
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


def dashboard_figures(session: Session, workspace_id: int, chosen: Period) -> Figures:
    """Every dashboard figure for ``workspace_id`` over the period ``chosen``."""
    since = chosen.since
    contacts, new_contacts = _contact_counts(session, workspace_id, since)
    return Figures(
        period=chosen,
        outcomes=_outcomes(session, workspace_id, since),
        funnel=funnel(session, workspace_id, since),
        activity=_activity(session, workspace_id, since),
        contacts=contacts,
        new_contacts=new_contacts,
        by_stage=_by_stage(session, workspace_id),
        events_by_type=_events_by_type(session, workspace_id, since),
    )


@router.get("/dashboard", name="dashboard")
def dashboard(request: Request, scope: Page, period: str = "") -> HTMLResponse:
    """The current workspace's outcomes, funnel and activity over the chosen period."""
    today: date = utcnow().date()
    chosen = named_period(period, today)
    with scope.db.session() as session:
        figures = dashboard_figures(session, scope.workspace_id, chosen)
    base = str(request.app.url_path_for("contacts_list"))
    here = str(request.app.url_path_for("dashboard"))

    def contacts_url(**params: object) -> str:
        wanted = {name: value for name, value in params.items() if value not in (None, "")}
        return f"{base}?{urlencode(wanted, doseq=True)}" if wanted else base

    return render(
        request,
        "dashboard.html",
        scope=scope,
        active="dashboard",
        figures=figures,
        contacts_url=contacts_url,
        periods=[(p, f"{here}?{urlencode({'period': p.key})}") for p in all_periods(today)],
        pipeline_url=str(request.app.url_path_for("pipeline_board")),
        poor_fit=POOR_FIT,
    )
