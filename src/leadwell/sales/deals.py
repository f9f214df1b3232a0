"""Deals: value, stage and outcome, and what they do to their contact's lifecycle stage.

A deal's stage is one of the workspace's pipeline stages (its qualification settings); new deals
start in the first. Closing a deal writes ``deal_won``/``deal_lost`` to the log. Opening a deal
makes its contact an opportunity, winning it a customer, and losing it (a reason is required)
sends the contact to nurture, unless another deal with them is still open.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Deal, Event, Membership, Organization
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.events.types import validate_properties
from leadwell.ids import BadId, IdCodec
from leadwell.inputs import Input
from leadwell.pagination import Page, newest_first, page_of
from leadwell.scoring.engine import score_new_events
from leadwell.scoring.settings import Settings
from leadwell.scoring.stages import move_stage
from leadwell.scoring.store import current_settings

Status = Literal["open", "won", "lost"]
# Stages a deal never moves its contact out of: a customer stays one whatever happens to a further
# deal (an upsell), and a disqualification is a person's decision.
KEPT_STAGES = frozenset({"customer", "disqualified"})


class DealFields(Input):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    contact_id: str | None = None
    organization_id: str | None = None
    value: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. USD.")
    stage: str | None = Field(default=None, min_length=1, max_length=40)
    status: Status | None = None
    reason: str | None = Field(
        default=None, max_length=2000, description="Why it was won or lost (required when lost)."
    )
    expected_close_on: date | None = None
    owner_id: str | None = Field(default=None, description="The salesperson working the deal (a user id).")


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
    owner_id: str | None
    closed_at: datetime | None
    stage_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime


def qualification_settings(session: Session, workspace_id: int) -> Settings:
    """The workspace's qualification settings in force (the defaults until it applies its own)."""
    return current_settings(session, workspace_id)[1]


def pipeline_stages(session: Session, workspace_id: int) -> tuple[str, ...]:
    """The workspace's deal stages, in board order."""
    return qualification_settings(session, workspace_id).pipeline_stages


def stage_label(stage: str) -> str:
    """A stage key as people read it: ``needs-analysis`` → "Needs analysis"."""
    words = stage.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def money_text(value: Decimal, currency: str) -> str:
    """``USD 12,000`` or ``EUR 1,500.50``: whole amounts without cents."""
    amount = f"{value:,.2f}"
    return f"{currency} {amount.removesuffix('.00')}"


def get_deal(session: Session, workspace_id: int, deal_id: int) -> Deal:
    deal = session.scalar(select(Deal).where(Deal.id == deal_id, Deal.workspace_id == workspace_id))
    if deal is None:
        raise NotFound("deal: no such deal in this workspace", field="deal")
    return deal


def _resolve(session: Session, codec: IdCodec, workspace_id: int, kind: str, public_id: str) -> int:
    field = "owner_id" if kind == "user" else f"{kind}_id"
    missing = InvalidInput(f"{field}: no such {kind} in this workspace", field=field)
    try:
        number = codec.decode(kind, public_id)
    except BadId:
        raise missing from None
    if kind == "user":
        query = select(Membership.user_id).where(
            Membership.user_id == number, Membership.workspace_id == workspace_id
        )
    else:
        model = Contact if kind == "contact" else Organization
        query = select(model.id).where(model.id == number, model.workspace_id == workspace_id)
    found = session.scalar(query)
    if found is None:
        raise missing
    return found


def _check_stage(session: Session, deal: Deal, stage: str) -> None:
    """Refuse a stage outside the pipeline; a deal may keep the stage it has (rows from before the
    pipeline was configured say "new")."""
    stages = pipeline_stages(session, deal.workspace_id)
    if stage not in stages and stage != deal.stage:
        raise InvalidInput(f"stage: {stage!r} is not a pipeline stage ({', '.join(stages)})", field="stage")


def _apply(session: Session, codec: IdCodec, deal: Deal, data: DealFields) -> str | None:
    """Copy given fields; returns the new status when the deal just closed."""
    given = data.model_fields_set
    if "stage" in given and data.stage is not None and data.stage != deal.stage:
        _check_stage(session, deal, data.stage)
        deal.stage_changed_at = utcnow()
    for name in ("name", "value", "currency", "stage", "reason"):
        if name in given and getattr(data, name) is not None:
            setattr(deal, name, getattr(data, name))
    if "expected_close_on" in given:  # an explicit null clears it
        deal.expected_close_on = data.expected_close_on
    for kind, field in (("contact", "contact_id"), ("organization", "organization_id"), ("user", "owner_id")):
        if field in given:
            public_id = getattr(data, field)
            setattr(
                deal,
                field,
                _resolve(session, codec, deal.workspace_id, kind, public_id) if public_id else None,
            )
    closing = bool("status" in given and data.status and data.status != deal.status)
    ends = data.status if closing and data.status else deal.status
    if ends == "lost" and (closing or "reason" in given) and not (deal.reason or "").strip():
        raise InvalidInput("reason: say why the deal was lost", field="reason")
    if closing:
        deal.status = ends
        deal.closed_at = None if ends == "open" else utcnow()
        return None if ends == "open" else ends
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
        event = _closed_event(codec, deal, closed)
        session.add(event)
        session.flush()
        score_new_events(session, deal.workspace_id, [event])  # a workspace's rules may score deals
    return deal


def _other_open_deal(session: Session, deal: Deal, contact_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Deal.workspace_id == deal.workspace_id,
                    Deal.contact_id == contact_id,
                    Deal.status == "open",
                    Deal.id != deal.id,
                )
            )
        )
    )


def _move_contact(
    session: Session, deal: Deal, before: tuple[str | None, int | None], by_user_id: int | None
) -> None:
    """Move the deal's contact along the lifecycle for what just happened to the deal: opened (or
    reopened, or given to this contact) → opportunity; won → customer; lost → nurture, unless
    another deal with the contact is still open. Customers and disqualified contacts stay put."""
    was_status, was_contact = before
    contact = session.get(Contact, deal.contact_id) if deal.contact_id is not None else None
    if contact is None or contact.merged_into_id is not None or contact.stage in KEPT_STAGES:
        return
    at = deal.closed_at or utcnow()
    if deal.status == "open" and (was_status != "open" or was_contact != deal.contact_id):
        why = f"deal '{deal.name}' {'reopened' if was_status in ('won', 'lost') else 'opened'}"
        move_stage(session, contact, "opportunity", why, by_user_id=by_user_id, at=at)
    elif deal.status == "won" and was_status != "won":
        why = f"won '{deal.name}' ({money_text(deal.value, deal.currency)})"
        move_stage(session, contact, "customer", why, by_user_id=by_user_id, at=at)
    elif deal.status == "lost" and was_status != "lost" and not _other_open_deal(session, deal, contact.id):
        why = f"lost '{deal.name}': {deal.reason}"
        move_stage(session, contact, "nurture", why, by_user_id=by_user_id, at=at)


def create_deal(
    session: Session, codec: IdCodec, workspace_id: int, data: DealCreate, by_user_id: int | None = None
) -> Deal:
    """A new deal, in the first pipeline stage unless ``data`` names another; its contact becomes
    an opportunity (or a customer, when the deal is recorded as won)."""
    deal = Deal(
        workspace_id=workspace_id,
        name=data.name,
        value=Decimal("0"),
        currency="USD",
        stage=pipeline_stages(session, workspace_id)[0],
        status="open",
    )
    session.add(deal)
    closed = _apply(session, codec, deal, data)
    _save(session, codec, deal, closed)
    _move_contact(session, deal, (None, None), by_user_id)
    return deal


def update_deal(
    session: Session,
    codec: IdCodec,
    workspace_id: int,
    deal_id: int,
    data: DealUpdate,
    by_user_id: int | None = None,
) -> Deal:
    """Change the fields present in ``data``; winning, losing or reopening moves the contact."""
    deal = get_deal(session, workspace_id, deal_id)
    before = (deal.status, deal.contact_id)
    closed = _apply(session, codec, deal, data)
    deal.updated_at = utcnow()
    _save(session, codec, deal, closed)
    _move_contact(session, deal, before, by_user_id)
    return deal


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
