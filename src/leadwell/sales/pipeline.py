"""The pipeline board: open deals in one column per pipeline stage, with each column's count and
totals per currency, and the deals won and lost in a period beside them.

Counts and totals are GROUP BY queries over every matching deal; cards are the first
:data:`CARDS_PER_COLUMN` of each column (soonest expected close first), read in one query with a
window function, so the board costs the same few queries for ten deals or a hundred thousand.
Deals whose stored stage is no longer in the pipeline (renamed stages, rows from before it was
configured) are shown in the first column, marked with the stage they really have.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from leadwell.db.models import Contact, Deal, Membership, Organization, User
from leadwell.ids import IdCodec
from leadwell.sales.deals import pipeline_stages, stage_label
from leadwell.sales.periods import Period

CARDS_PER_COLUMN = 50
EXPORT_BATCH = 1000
CENTS = Decimal("0.01")
AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])
DealOrg = aliased(Organization, name="deal_org")
ContactOrg = aliased(Organization, name="contact_org")


@dataclass(frozen=True)
class Money:
    """Deals of one currency: how many and their total value (currencies are never added up)."""

    currency: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class BoardFilters:
    """What the board is narrowed by: the deal's owner and a search over deal, contact and
    organization names and the contact's email."""

    owner_id: int | None = None
    q: str | None = None


@dataclass(frozen=True)
class Card:
    """One open deal as the board shows it."""

    id: str
    name: str
    stage: str
    contact_id: str | None
    contact_name: str | None
    organization: str | None
    value: Decimal
    currency: str
    expected_close_on: date | None
    overdue: bool
    days_in_stage: int
    owner: str | None


@dataclass
class Column:
    """A pipeline stage: its open deals' count and totals, and the first cards."""

    stage: str
    label: str
    count: int = 0
    totals: list[Money] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    # Stages outside the pipeline whose deals this (first) column holds, with how many of each.
    others: list[tuple[str, int]] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        """Deals counted here but not shown as cards."""
        return self.count - len(self.cards)


@dataclass(frozen=True)
class Board:
    columns: list[Column]
    won: list[Money]
    lost: list[Money]
    period: Period


def person_name(first: str | None, last: str | None, email: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() or email or "(no name)"


def _narrowed(query: AnySelect, workspace_id: int, filters: BoardFilters) -> AnySelect:
    """``query`` over deals joined to their contact and organizations, narrowed by ``filters``."""
    query = (
        query.select_from(Deal)
        .outerjoin(Contact, Contact.id == Deal.contact_id)
        .outerjoin(DealOrg, DealOrg.id == Deal.organization_id)
        .outerjoin(ContactOrg, ContactOrg.id == Contact.organization_id)
        .where(Deal.workspace_id == workspace_id)
    )
    if filters.owner_id is not None:
        query = query.where(Deal.owner_id == filters.owner_id)
    if filters.q:
        pattern = f"%{filters.q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Deal.name).like(pattern),
                func.lower(Contact.first_name + " " + Contact.last_name).like(pattern),
                func.lower(Contact.email).like(pattern),
                func.lower(DealOrg.name).like(pattern),
                func.lower(ContactOrg.name).like(pattern),
            )
        )
    return query


def _column_of(stages: tuple[str, ...]) -> ColumnElement[str]:
    """The board column of a deal: its stage, or the first column for a stage outside the pipeline."""
    return case((Deal.stage.in_(stages), Deal.stage), else_=literal(stages[0]))


def money(currency: str, count: int, total: Any) -> Money:
    """A :class:`Money` row from a GROUP BY (a SUM may come back as float, Decimal or None)."""
    return Money(currency, int(count), Decimal(str(total or 0)).quantize(CENTS))


def _totals(session: Session, workspace_id: int, filters: BoardFilters) -> list[tuple[str, str, int, Any]]:
    """(stage, currency, count, total) of the open deals, per stored stage and currency."""
    query = select(Deal.stage, Deal.currency, func.count(), func.sum(Deal.value))
    query = _narrowed(query, workspace_id, filters).where(Deal.status == "open")
    rows = session.execute(query.group_by(Deal.stage, Deal.currency).order_by(Deal.currency))
    return [(stage, currency, int(count), total) for stage, currency, count, total in rows]


def closed_totals(
    session: Session, workspace_id: int, filters: BoardFilters, since: datetime
) -> dict[str, list[Money]]:
    """Deals won and lost since ``since``: ``{"won": [...], "lost": [...]}`` per currency."""
    query = select(Deal.status, Deal.currency, func.count(), func.sum(Deal.value))
    query = _narrowed(query, workspace_id, filters).where(
        Deal.status.in_(("won", "lost")), Deal.closed_at >= since
    )
    closed: dict[str, list[Money]] = {"won": [], "lost": []}
    for status, currency, count, total in session.execute(
        query.group_by(Deal.status, Deal.currency).order_by(Deal.currency)
    ):
        closed[status].append(money(currency, count, total))
    return closed


def _card_rows(
    session: Session, workspace_id: int, filters: BoardFilters, stages: tuple[str, ...]
) -> list[Any]:
    """The first cards of every column, in one query (row_number per column)."""
    column = _column_of(stages)
    order = (Deal.expected_close_on.asc().nulls_last(), Deal.id.asc())
    position = func.row_number().over(partition_by=column, order_by=order).label("position")
    ranked = _narrowed(select(Deal.id, position), workspace_id, filters).where(Deal.status == "open")
    first = ranked.subquery()
    query = _narrowed(
        select(
            Deal,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
            func.coalesce(DealOrg.name, ContactOrg.name),
            User.name,
            User.email,
        ),
        workspace_id,
        BoardFilters(),
    )
    query = (
        query.join(first, first.c.id == Deal.id)
        .outerjoin(User, User.id == Deal.owner_id)
        .where(first.c.position <= CARDS_PER_COLUMN)
        .order_by(first.c.position)
    )
    return list(session.execute(query))


def _card(codec: IdCodec, row: Any, today: date) -> Card:
    deal: Deal = row[0]
    first, last, email, organization, owner_name, owner_email = row[1:]
    entered = deal.stage_changed_at or deal.updated_at
    return Card(
        id=codec.encode("deal", deal.id),
        name=deal.name,
        stage=deal.stage,
        contact_id=codec.encode("contact", deal.contact_id) if deal.contact_id else None,
        contact_name=person_name(first, last, email) if deal.contact_id else None,
        organization=organization,
        value=deal.value,
        currency=deal.currency,
        expected_close_on=deal.expected_close_on,
        overdue=deal.expected_close_on is not None and deal.expected_close_on < today,
        days_in_stage=max(0, (today - entered.date()).days),
        owner=(owner_name or owner_email) if deal.owner_id else None,
    )


def board(
    session: Session, codec: IdCodec, workspace_id: int, filters: BoardFilters, period: Period, today: date
) -> Board:
    """The board of ``workspace_id``'s open deals, with deals won and lost since ``period`` began."""
    stages = pipeline_stages(session, workspace_id)
    columns = {stage: Column(stage, stage_label(stage)) for stage in stages}
    first = columns[stages[0]]
    sums: dict[str, dict[str, tuple[int, Any]]] = {stage: {} for stage in stages}
    others: dict[str, int] = {}
    for stage, currency, count, total in _totals(session, workspace_id, filters):
        home = stage if stage in columns else stages[0]
        if home != stage:
            others[stage] = others.get(stage, 0) + count
        had_count, had_total = sums[home].get(currency, (0, 0))
        sums[home][currency] = (had_count + count, had_total + (total or 0))
    for stage, by_currency in sums.items():
        column = columns[stage]
        column.totals = [money(cur, n, total) for cur, (n, total) in sorted(by_currency.items())]
        column.count = sum(n for n, _ in by_currency.values())
    first.others = sorted(others.items())
    for row in _card_rows(session, workspace_id, filters, stages):
        card = _card(codec, row, today)
        columns[card.stage if card.stage in columns else stages[0]].cards.append(card)
    closed = closed_totals(session, workspace_id, filters, period.since)
    return Board(list(columns.values()), closed["won"], closed["lost"], period)


def owners(session: Session, workspace_id: int) -> list[tuple[int, str]]:
    """The workspace's members as (user id, name) for the owner filter, by name."""
    rows = session.execute(
        select(User.id, User.name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id)
    )
    return sorted(((user_id, name or email) for user_id, name, email in rows), key=lambda pair: pair[1])


EXPORT_COLUMNS = (
    "id", "name", "stage", "in_pipeline", "contact_id", "contact", "organization", "value", "currency",
    "expected_close_on", "overdue", "days_in_stage", "owner",
)  # fmt: skip


def export_rows(
    session_factory: Any, codec: IdCodec, workspace_id: int, filters: BoardFilters, today: date
) -> Iterator[list[Any]]:
    """Every open deal of the board's filters as CSV values, in batches by id, each batch in its own
    short transaction (``session_factory()`` opens one)."""
    last_id = 0
    while True:
        with session_factory() as session:
            stages = pipeline_stages(session, workspace_id)
            query = _narrowed(
                select(
                    Deal,
                    Contact.first_name,
                    Contact.last_name,
                    Contact.email,
                    func.coalesce(DealOrg.name, ContactOrg.name),
                    User.name,
                    User.email,
                ),
                workspace_id,
                filters,
            ).outerjoin(User, User.id == Deal.owner_id)
            query = query.where(and_(Deal.status == "open", Deal.id > last_id)).order_by(Deal.id)
            rows = list(session.execute(query.limit(EXPORT_BATCH)))
            for row in rows:
                card = _card(codec, row, today)
                yield [
                    card.id, card.name, card.stage, card.stage in stages, card.contact_id, card.contact_name,
                    card.organization, card.value, card.currency, card.expected_close_on, card.overdue,
                    card.days_in_stage, card.owner,
                ]  # fmt: skip
        if len(rows) < EXPORT_BATCH:
            return
        last_id = rows[-1][0].id
