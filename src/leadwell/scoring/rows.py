"""Engagement rows: one per live contact, created with the contact or on first need."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement
from leadwell.scoring.decay import ZERO_RANK

# Stages past the call queue: an opportunity is worked on the pipeline board, a customer has bought,
# a disqualified contact was qualified out. Nurture waits for its revisit date or new signals.
CLOSED_STAGES = frozenset({"opportunity", "customer", "disqualified"})
PARKED_STAGES = frozenset({"nurture"})


def queue_state_for(stage: str) -> str:
    """Where a contact in ``stage`` stands with the call queue: open, parked or closed."""
    if stage in CLOSED_STAGES:
        return "closed"
    if stage in PARKED_STAGES:
        return "parked"
    return "open"


def ensure_engagements(session: Session, workspace_id: int, stages: dict[int, str]) -> dict[int, Engagement]:
    """The engagement rows of these contacts (``{contact_id: stage}``), creating missing ones with a
    zero score and the queue state their stage implies."""
    ids = sorted(stages)
    if not ids:
        return {}
    found = {
        row.contact_id: row
        for row in session.scalars(select(Engagement).where(Engagement.contact_id.in_(ids)))
    }
    missing = [contact_id for contact_id in ids if contact_id not in found]
    for contact_id in missing:
        row = Engagement(
            contact_id=contact_id,
            workspace_id=workspace_id,
            score=0.0,
            scored_at=None,
            rank_key=ZERO_RANK,
            version=0,
            queue_state=queue_state_for(stages[contact_id]),
        )
        session.add(row)
        found[contact_id] = row
    if missing:
        session.flush()
    return found


def engagement_of(session: Session, workspace_id: int, contact_id: int, stage: str) -> Engagement:
    """One contact's engagement row (created if missing)."""
    return ensure_engagements(session, workspace_id, {contact_id: stage})[contact_id]


def contacts_stages(session: Session, contact_ids: Iterable[int]) -> dict[int, str]:
    """``{contact_id: stage}`` for these contacts."""
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    rows = session.execute(select(Contact.id, Contact.stage).where(Contact.id.in_(ids)))
    return {contact_id: stage for contact_id, stage in rows}
