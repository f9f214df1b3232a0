"""Holding one contact in a sequence by hand, and letting it go on: an active enrollment without a
next moment is never due, so it waits at its step (shown as "held") until resumed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Enrollment
from leadwell.errors import InvalidInput


def _active_enrollment(session: Session, workspace_id: int, sequence_id: int, contact_id: int) -> Enrollment:
    found = session.scalar(
        select(Enrollment).where(
            Enrollment.workspace_id == workspace_id,
            Enrollment.sequence_id == sequence_id,
            Enrollment.contact_id == contact_id,
            Enrollment.status == "active",
        )
    )
    if found is None:
        raise InvalidInput("contact: not active in this sequence", field="contact")
    return found


def pause_enrollment(session: Session, workspace_id: int, sequence_id: int, contact_id: int) -> None:
    """Hold one contact where it is: an active enrollment without a next moment is never due."""
    _active_enrollment(session, workspace_id, sequence_id, contact_id).next_at = None


def resume_enrollment(
    session: Session, workspace_id: int, sequence_id: int, contact_id: int, now: datetime
) -> None:
    """Let a held contact go on from its step (due now; an email still waits for the window)."""
    enrollment = _active_enrollment(session, workspace_id, sequence_id, contact_id)
    if enrollment.next_at is None:
        enrollment.next_at = now


def enrollment_state(status: str, next_at: datetime | None) -> str:
    """How an enrollment reads on a page: active, paused (held by hand), completed or stopped."""
    return "paused" if status == "active" and next_at is None else status
