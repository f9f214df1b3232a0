"""The leads of a range, one row each, with what became of them by ``now``.

A lead is a live contact that entered the funnel in the range (the cohort of
:func:`leadwell.reports.funnel.cohort`, cut at the range's end). Each row says how far it went
(qualified = MQL, sales-qualified = SQL, opportunity, won = customer; moves after the query's
``now`` are not seen), when it was won, its booked
meetings, its revenue in the report currency, the lead magnet and landing page it first came
through, its ICP grade and its owner. Every figure is read for those leads only: the subqueries
join from the cohort's ids, so the cost follows the range, not the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from leadwell.db.models import Asset, Contact, Deal, Engagement, Event, Form, FormSubmission, LandingPage
from leadwell.db.types import UTCDateTime
from leadwell.reports.funnel import cohort
from leadwell.reports.query import ReportQuery

MEETING_EVENT = "meeting_booked"


def lead_ids(query: ReportQuery, entered: CTE | None = None) -> Select[Any]:
    """Ids of the leads captured in the range (a select usable with ``IN``)."""
    entered = cohort(query.workspace_id, query.since) if entered is None else entered
    return select(entered.c.id).where(entered.c.at_1 < literal(query.until, UTCDateTime()))


def _meetings(query: ReportQuery, ids: Select[Any]) -> Subquery:
    return (
        select(Event.contact_id, func.count().label("meetings"))
        .where(
            Event.workspace_id == query.workspace_id,
            Event.type == MEETING_EVENT,
            Event.contact_id.in_(ids),
            Event.occurred_at < literal(query.now, UTCDateTime()),
        )
        .group_by(Event.contact_id)
        .subquery("lead_meetings")
    )


def _revenue(query: ReportQuery, ids: Select[Any], currency: str) -> Subquery:
    return (
        select(Deal.contact_id, func.sum(Deal.value).label("revenue"))
        .where(
            Deal.workspace_id == query.workspace_id,
            Deal.status == "won",
            Deal.currency == currency,
            Deal.contact_id.in_(ids),
        )
        .group_by(Deal.contact_id)
        .subquery("lead_revenue")
    )


def _firsts(query: ReportQuery, ids: Select[Any]) -> Subquery:
    """Per lead, the asset slug of its first submission with a magnet and the page slug of its
    first submission made on a landing page (each ordered by time, then id)."""
    has_asset = case((Asset.slug.is_(None), 1), else_=0)
    has_page = case((LandingPage.slug.is_(None), 1), else_=0)
    order = (FormSubmission.submitted_at, FormSubmission.id)
    numbered = (
        select(
            FormSubmission.contact_id,
            Asset.slug.label("magnet"),
            LandingPage.slug.label("landing_page"),
            func.row_number()
            .over(partition_by=FormSubmission.contact_id, order_by=(has_asset, *order))
            .label("magnet_n"),
            func.row_number()
            .over(partition_by=FormSubmission.contact_id, order_by=(has_page, *order))
            .label("page_n"),
        )
        .join(Form, Form.id == FormSubmission.form_id)
        .outerjoin(Asset, Asset.id == Form.asset_id)
        .outerjoin(LandingPage, LandingPage.id == FormSubmission.landing_page_id)
        .where(FormSubmission.workspace_id == query.workspace_id, FormSubmission.contact_id.in_(ids))
        .subquery("numbered_submissions")
    )
    return (
        select(
            numbered.c.contact_id,
            func.max(case((numbered.c.magnet_n == 1, numbered.c.magnet))).label("magnet"),
            func.max(case((numbered.c.page_n == 1, numbered.c.landing_page))).label("landing_page"),
        )
        .group_by(numbered.c.contact_id)
        .subquery("lead_firsts")
    )


def reached_by(entered: CTE, step: int, now: datetime) -> ColumnElement[int]:
    """1 if the cohort member had reached funnel ``step`` by ``now`` (a report pinned in the past
    does not see later moves; a step reached at an unknown moment counts)."""
    moment = entered.c[f"at_{step}"]
    known = or_(moment.is_(None), moment < literal(now, UTCDateTime()))
    return case((and_(entered.c[f"reached_{step}"] == 1, known), 1), else_=0)


def won_at(entered: CTE, now: datetime) -> ColumnElement[datetime]:
    """When the cohort member became a customer, if it had by ``now`` (else NULL)."""
    return case((reached_by(entered, 5, now) == 1, entered.c.at_5))


def lead_facts(query: ReportQuery, currency: str) -> CTE:
    """One row per lead captured in the range: ``contact_id``, ``captured_at``, ``qualified``,
    ``sales_qualified``, ``opportunity``, ``won`` (0/1), ``won_at`` (NULL unless won), ``meetings``,
    ``revenue`` (won deals in ``currency``, 0 if none), ``magnet``, ``landing_page``, ``grade`` and
    ``owner_id``."""
    entered = cohort(query.workspace_id, query.since)
    ids = lead_ids(query, entered)
    meetings, revenue, firsts = _meetings(query, ids), _revenue(query, ids, currency), _firsts(query, ids)
    return (
        select(
            entered.c.id.label("contact_id"),
            entered.c.at_1.label("captured_at"),
            cast(reached_by(entered, 2, query.now), Integer).label("qualified"),
            cast(reached_by(entered, 3, query.now), Integer).label("sales_qualified"),
            cast(reached_by(entered, 4, query.now), Integer).label("opportunity"),
            cast(reached_by(entered, 5, query.now), Integer).label("won"),
            won_at(entered, query.now).label("won_at"),
            cast(func.coalesce(meetings.c.meetings, 0), Integer).label("meetings"),
            cast(func.coalesce(revenue.c.revenue, 0), Float).label("revenue"),
            firsts.c.magnet,
            firsts.c.landing_page,
            Engagement.grade,
            Contact.owner_id,
        )
        .select_from(entered)
        .join(Contact, Contact.id == entered.c.id)
        .outerjoin(meetings, meetings.c.contact_id == entered.c.id)
        .outerjoin(revenue, revenue.c.contact_id == entered.c.id)
        .outerjoin(firsts, firsts.c.contact_id == entered.c.id)
        .outerjoin(Engagement, Engagement.contact_id == entered.c.id)
        .where(entered.c.at_1 < literal(query.until, UTCDateTime()))
        .cte("lead_facts")
    )


@dataclass(frozen=True)
class OtherCurrencyDeals:
    """Won deals of the range's leads in one currency other than the report's."""

    currency: str
    deals: int
    value: Decimal


def other_currency_deals(session: Session, query: ReportQuery, currency: str) -> list[OtherCurrencyDeals]:
    """Won deals of the range's leads that are not in ``currency``, per currency (for a note)."""
    rows = session.execute(
        select(Deal.currency, func.count(), func.sum(Deal.value))
        .where(
            Deal.workspace_id == query.workspace_id,
            Deal.status == "won",
            Deal.currency != currency,
            Deal.contact_id.in_(lead_ids(query)),
        )
        .group_by(Deal.currency)
        .order_by(Deal.currency)
    )
    return [OtherCurrencyDeals(code, int(count), Decimal(total)) for code, count, total in rows]


def deals_note(others: list[OtherCurrencyDeals], currency: str) -> list[str]:
    """The note naming won deals left out for their currency ("2 won deals in EUR (EUR 5,000.00)
    are not counted: reports add up USD")."""
    notes = []
    for other in others:
        deals = "1 won deal" if other.deals == 1 else f"{other.deals} won deals"
        verb = "is" if other.deals == 1 else "are"
        notes.append(
            f"{deals} in {other.currency} ({other.currency} {other.value:,.2f}) {verb} not counted: "
            f"reports add up {currency}"
        )
    return notes
