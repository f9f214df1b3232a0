"""The owner's landing page: the workspace's figures, each linking to the contacts behind it.

Every figure is one set-based query (COUNT/SUM with GROUP BY) in the database, so the page costs
the same handful of queries for a hundred contacts or a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from leadwell.db.models import LIFECYCLE_STAGES, Contact, Deal, Event
from leadwell.db.types import utcnow
from leadwell.web.deps import Page
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
RECENT_DAYS = 30
CLOSED_DAYS = 90
TOP_EVENT_TYPES = 8


@dataclass(frozen=True)
class Money:
    """Deals of one currency: how many and their total value (currencies are never added up)."""

    currency: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class EventCount:
    type: str
    events: int
    contacts: int


@dataclass(frozen=True)
class Figures:
    """What the dashboard shows, computed for one workspace."""

    recent_since: date
    closed_since: date
    contacts: int
    new_contacts: int
    by_stage: list[tuple[str, int]]
    events_by_type: list[EventCount]
    open_deals: list[Money]
    won: list[Money]
    lost: list[Money]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _contact_counts(session: Session, workspace_id: int, since: date) -> tuple[int, int]:
    """All live (not merged) contacts, and those created since ``since``, in one pass."""
    recent = func.count().filter(Contact.created_at >= _midnight(since))
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


def _events_by_type(session: Session, workspace_id: int, since: date) -> list[EventCount]:
    """The most frequent event types since ``since``, with how many distinct contacts did each."""
    events = func.count().label("events")
    rows = session.execute(
        select(Event.type, events, func.count(distinct(Event.contact_id)))
        .where(Event.workspace_id == workspace_id, Event.occurred_at >= _midnight(since))
        .group_by(Event.type)
        .order_by(events.desc(), Event.type)
        .limit(TOP_EVENT_TYPES)
    ).all()
    return [EventCount(kind, int(count), int(people)) for kind, count, people in rows]


def _deal_sums(session: Session, workspace_id: int, status: str, since: date | None) -> list[Money]:
    """Count and total value per currency of deals in ``status`` (closed since ``since``, if given)."""
    query = select(Deal.currency, func.count(), func.coalesce(func.sum(Deal.value), 0)).where(
        Deal.workspace_id == workspace_id, Deal.status == status
    )
    if since is not None:
        query = query.where(Deal.closed_at >= _midnight(since))
    rows = session.execute(query.group_by(Deal.currency).order_by(Deal.currency)).all()
    return [Money(currency, int(count), Decimal(total)) for currency, count, total in rows]


def dashboard_figures(session: Session, workspace_id: int, today: date) -> Figures:
    """Every dashboard figure for ``workspace_id``, periods ending ``today`` (whole UTC days, so the
    contact lists the figures link to, filtered by date, show exactly the counted contacts)."""
    recent_since = today - timedelta(days=RECENT_DAYS)
    closed_since = today - timedelta(days=CLOSED_DAYS)
    contacts, new_contacts = _contact_counts(session, workspace_id, recent_since)
    return Figures(
        recent_since=recent_since,
        closed_since=closed_since,
        contacts=contacts,
        new_contacts=new_contacts,
        by_stage=_by_stage(session, workspace_id),
        events_by_type=_events_by_type(session, workspace_id, recent_since),
        open_deals=_deal_sums(session, workspace_id, "open", None),
        won=_deal_sums(session, workspace_id, "won", closed_since),
        lost=_deal_sums(session, workspace_id, "lost", closed_since),
    )


@router.get("/dashboard", name="dashboard")
def dashboard(request: Request, scope: Page) -> HTMLResponse:
    """The current workspace's figures."""
    with scope.db.session() as session:
        figures = dashboard_figures(session, scope.workspace_id, utcnow().date())
    base = str(request.app.url_path_for("contacts_list"))

    def contacts_url(**params: object) -> str:
        return f"{base}?{urlencode(params)}" if params else base

    return render(
        request, "dashboard.html", scope=scope, active="dashboard", figures=figures, contacts_url=contacts_url
    )
