"""Taking a contact out of its sequences: on a reply, a booked meeting, an unsubscribe, a bounce, a
suppression, a merge, or by hand. Their messages not yet sent are cancelled in the same transaction,
so nothing more goes out to someone who already answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadwell.db.models import STOP_REASONS, Enrollment, Event, OutboxMessage, Sequence
from leadwell.errors import InvalidInput
from leadwell.scoring.engine import score_new_events


def stop_enrollments(
    session: Session,
    workspace_id: int,
    contact_id: int,
    reason: str,
    now: datetime,
    sequence_id: int | None = None,
) -> list[int]:
    """Stop the contact's active enrollments (in one sequence, or all); returns their ids.

    Each stopped enrollment writes a ``sequence_finished`` event with ``reason``, and its queued
    messages become ``cancelled``. Stopping a contact with no active enrollment does nothing.
    """
    if reason not in STOP_REASONS:
        raise InvalidInput(f"reason: one of {', '.join(STOP_REASONS)}", field="reason")
    query = (
        select(Enrollment.id, Sequence.slug)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(
            Enrollment.workspace_id == workspace_id,
            Enrollment.contact_id == contact_id,
            Enrollment.status == "active",
        )
    )
    if sequence_id is not None:
        query = query.where(Enrollment.sequence_id == sequence_id)
    stopped = session.execute(query).all()
    if not stopped:
        return []
    ids = [enrollment_id for enrollment_id, _slug in stopped]
    session.execute(
        update(Enrollment)
        .where(Enrollment.id.in_(ids), Enrollment.status == "active")
        .values(status="stopped", stop_reason=reason, finished_at=now, next_at=None)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.enrollment_id.in_(ids), OutboxMessage.state == "queued")
        .values(state="cancelled", last_error=f"sequence stopped: {reason}")
        .execution_options(synchronize_session="fetch")
    )
    events = [
        Event(
            workspace_id=workspace_id,
            contact_id=contact_id,
            type="sequence_finished",
            occurred_at=now,
            properties={"sequence": slug, "reason": reason},
            source="outreach",
            idempotency_key=f"sequence-finished:{enrollment_id}",
        )
        for enrollment_id, slug in stopped
    ]
    session.add_all(events)
    score_new_events(session, workspace_id, events)
    return ids
