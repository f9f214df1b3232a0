"""Lifecycle stages: every move is recorded (from, to, why, by whom or which rule, when), writes a
``stage_changed`` event, and sets the contact's place in the call queue.

subscriber → lead → MQL → SQL → opportunity → customer is the funnel; nurture (not ready: kept warm
by the newsletter, back in the queue on a revisit date or new signals) and disqualified (not a fit)
stand beside it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    LIFECYCLE_STAGES,
    Contact,
    ContactList,
    Engagement,
    Event,
    ListMember,
    StageChange,
)
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.events.types import validate_properties
from leadwell.scoring.decay import current
from leadwell.scoring.rows import engagement_of, queue_state_for
from leadwell.scoring.store import current_settings

FUNNEL = ("subscriber", "lead", "mql", "sql", "opportunity", "customer")
STAGE_LABELS = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "mql": "MQL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "nurture": "Nurture",
    "disqualified": "Disqualified",
}
NURTURE_LIST = ("newsletter", "Newsletter")  # slug and name of the list nurture contacts join


def check_stage(stage: str, field: str = "stage") -> str:
    """``stage`` if it is a lifecycle stage; :class:`InvalidInput` naming ``field`` otherwise."""
    if stage not in LIFECYCLE_STAGES:
        raise InvalidInput(f"{field}: {stage!r} is not one of {', '.join(LIFECYCLE_STAGES)}", field=field)
    return stage


def move_stage(
    session: Session,
    contact: Contact,
    to_stage: str,
    why: str,
    *,
    by_user_id: int | None = None,
    rule: str | None = None,
    at: datetime | None = None,
) -> StageChange | None:
    """Move ``contact`` to ``to_stage`` for the reason ``why``; None when it is there already.

    Records the move in the stage history and the event log, and puts the contact where the stage
    implies in the call queue: open (subscriber … SQL), parked (nurture, which also joins the
    newsletter list) or closed (opportunity, customer, disqualified)."""
    check_stage(to_stage)
    if contact.stage == to_stage:
        return None
    moment = at or utcnow()
    change = StageChange(
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        from_stage=contact.stage,
        to_stage=to_stage,
        why=why,
        rule=rule,
        changed_by_id=by_user_id,
        changed_at=moment,
    )
    session.add(change)
    session.add(stage_event(contact, contact.stage, to_stage, why, moment))
    # A missing engagement row is created where the contact stood before the move, so a first move
    # into nurture still parks it (its score kept, the newsletter list joined).
    engagement = engagement_of(session, contact.workspace_id, contact.id, contact.stage)
    contact.stage = to_stage
    contact.updated_at = moment
    _requeue(session, contact, engagement, to_stage, moment)
    session.flush()
    return change


def stage_event(contact: Contact, from_stage: str | None, to_stage: str, why: str, at: datetime) -> Event:
    """The ``stage_changed`` event of a move."""
    return Event(
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        type="stage_changed",
        occurred_at=at,
        properties=validate_properties("stage_changed", {"from": from_stage, "to": to_stage, "why": why}),
        source="leadwell",
    )


def _requeue(
    session: Session, contact: Contact, engagement: Engagement, stage: str, moment: datetime
) -> None:
    state = queue_state_for(stage)
    if state == "parked" and engagement.queue_state != "parked":
        # The score as it stands when parked: re-qualification measures new engagement from it,
        # decayed from this moment (see leadwell.scoring.requalify).
        rate = current_settings(session, contact.workspace_id)[1].decay_rate
        engagement.parked_score = current(engagement.score, engagement.scored_at, moment, rate)
        join_nurture_list(session, contact)
    if state != "parked":
        engagement.parked_score = None
    engagement.queue_state = state
    engagement.resurfaced_why = None
    engagement.resurfaced_at = None


def nurture_list(session: Session, workspace_id: int) -> ContactList:
    """The workspace's newsletter list, created on first use."""
    slug, name = NURTURE_LIST
    found = session.scalar(
        select(ContactList).where(ContactList.workspace_id == workspace_id, ContactList.slug == slug)
    )
    if found is None:
        found = ContactList(workspace_id=workspace_id, slug=slug, name=name)
        session.add(found)
        session.flush()
    return found


def join_nurture_list(session: Session, contact: Contact) -> None:
    """Put ``contact`` on the newsletter list (once)."""
    newsletter = nurture_list(session, contact.workspace_id)
    member = session.get(ListMember, (newsletter.id, contact.id))
    if member is None:
        session.add(ListMember(list_id=newsletter.id, contact_id=contact.id))


def stage_history(session: Session, workspace_id: int, contact_id: int) -> list[StageChange]:
    """A contact's stage moves, oldest first."""
    return list(
        session.scalars(
            select(StageChange)
            .where(StageChange.workspace_id == workspace_id, StageChange.contact_id == contact_id)
            .order_by(StageChange.changed_at, StageChange.id)
        )
    )
