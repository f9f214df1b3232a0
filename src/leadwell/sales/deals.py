"""Deals: value, stage and outcome. Closing a deal writes ``deal_won``/``deal_lost`` to the log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Deal, Event, Organization
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.events.types import validate_properties
from leadwell.ids import BadId, IdCodec
from leadwell.inputs import Input
from leadwell.pagination import Page, newest_first, page_of

Status = Literal["open", "won", "lost"]


class DealFields(Input):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    contact_id: str | None = None
    organization_id: str | None = None
    value: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. USD.")
    stage: str | None = Field(default=None, min_length=1, max_length=40)
    status: Status | None = None
    reason: str | None = Field(default=None, max_length=2000, description="Why it was won or lost.")
    expected_close_on: date | None = None


class DealCreate(DealFields):
    name: str = Field(min_length=1, max_length=300)


class DealUpdate(DealFields):
    pass


class DealOut(BaseModel):
    id: str
    name: str
    contact_id: str | None
    organization_id: str | None
    value: Decimal
    currency: str
    stage: str
    status: Status
    reason: str | None
    expected_close_on: date | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


def get_deal(session: Session, workspace_id: int, deal_id: int) -> Deal:
    deal = session.scalar(select(Deal).where(Deal.id == deal_id, Deal.workspace_id == workspace_id))
    if deal is None:
        raise NotFound("deal: no such deal in this workspace", field="deal")
    return deal


def _resolve(session: Session, codec: IdCodec, workspace_id: int, kind: str, public_id: str) -> int:
    model = Contact if kind == "contact" else Organization
    field = f"{kind}_id"
    try:
        number = codec.decode(kind, public_id)
    except BadId:
        raise InvalidInput(f"{field}: no such {kind} in this workspace", field=field) from None
    found = session.scalar(select(model.id).where(model.id == number, model.workspace_id == workspace_id))
    if found is None:
        raise InvalidInput(f"{field}: no such {kind} in this workspace", field=field)
    return found


def _apply(session: Session, codec: IdCodec, deal: Deal, data: DealFields) -> str | None:
    """Copy given fields; returns the new status when the deal just closed."""
    given = data.model_fields_set
    for name in ("name", "value", "currency", "stage", "reason", "expected_close_on"):
        if name in given and getattr(data, name) is not None:
            setattr(deal, name, getattr(data, name))
    for kind in ("contact", "organization"):
        field = f"{kind}_id"
        if field in given:
            public_id = getattr(data, field)
            setattr(
                deal,
                field,
                _resolve(session, codec, deal.workspace_id, kind, public_id) if public_id else None,
            )
    if "status" in given and data.status and data.status != deal.status:
        deal.status = data.status
        deal.closed_at = None if data.status == "open" else utcnow()
        return None if data.status == "open" else data.status
    return None


def _closed_event(codec: IdCodec, deal: Deal, status: str) -> Event:
    return Event(
        workspace_id=deal.workspace_id,
        contact_id=deal.contact_id,
        type=f"deal_{status}",
        occurred_at=deal.closed_at or utcnow(),
        properties=validate_properties(
            f"deal_{status}",
            {
                "deal": codec.encode("deal", deal.id),
                "value": float(deal.value),
                "currency": deal.currency,
                "reason": deal.reason,
            },
        ),
        source="leadwell",
    )


def _save(session: Session, codec: IdCodec, deal: Deal, closed: str | None) -> Deal:
    session.flush()
    if closed and deal.contact_id is not None:
        session.add(_closed_event(codec, deal, closed))
        session.flush()
    return deal


def create_deal(session: Session, codec: IdCodec, workspace_id: int, data: DealCreate) -> Deal:
    deal = Deal(
        workspace_id=workspace_id,
        name=data.name,
        value=Decimal("0"),
        currency="USD",
        stage="new",
        status="open",
    )
    session.add(deal)
    closed = _apply(session, codec, deal, data)
    return _save(session, codec, deal, closed)


def update_deal(session: Session, codec: IdCodec, workspace_id: int, deal_id: int, data: DealUpdate) -> Deal:
    deal = get_deal(session, workspace_id, deal_id)
    closed = _apply(session, codec, deal, data)
    deal.updated_at = utcnow()
    return _save(session, codec, deal, closed)


def delete_deal(session: Session, workspace_id: int, deal_id: int) -> None:
    session.delete(get_deal(session, workspace_id, deal_id))
    session.flush()


def list_deals(
    session: Session,
    workspace_id: int,
    status: str | None,
    contact_id: int | None,
    cursor: str | None,
    limit: int,
) -> Page[Deal]:
    query = select(Deal).where(Deal.workspace_id == workspace_id)
    if status:
        query = query.where(Deal.status == status)
    if contact_id is not None:
        query = query.where(Deal.contact_id == contact_id)
    rows: Sequence[Deal] = session.scalars(newest_first(query, Deal.id, cursor, limit)).all()
    return page_of(rows, limit, lambda deal: deal.id)
