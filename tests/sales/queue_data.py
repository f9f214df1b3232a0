"""Leads for the call queue tests: contacts with their engagement rows set as a test needs them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement, Workspace
from leadwell.icp.definition import parse_definition
from leadwell.icp.grading import grade_all
from leadwell.icp.store import apply_definition
from leadwell.scoring.decay import rank_key
from leadwell.scoring.rows import engagement_of, queue_state_for
from leadwell.scoring.settings import default_settings
from tests.factories import make_contact

RATE = default_settings().decay_rate
PROFILE: dict[str, Any] = {
    "slug": "consulting",
    "name": "Complex consulting projects",
    "must": [
        {"field": "organization.employees", "op": "gte", "value": 100},
        {"field": "custom.roi_months", "op": "lte", "value": 3},
    ],
    "nice": [{"field": "contact.title", "op": "matches", "value": "(?i)cto", "weight": 30}],
}


def make_lead(
    session: Session,
    workspace: Workspace,
    *,
    grade: str | None = "C",
    score: float = 0.0,
    scored_at: datetime | None = None,
    due_at: datetime | None = None,
    state: str | None = None,
    fit_score: int | None = None,
    **fields: Any,
) -> Contact:
    """A contact with an engagement row: ``grade``, a score of ``score`` at ``scored_at``, not to be
    called before ``due_at``, in ``state`` (default: what its stage implies)."""
    contact = make_contact(session, workspace, **fields)
    row = engagement_of(session, workspace.id, contact.id, contact.stage)
    set_engagement(row, grade=grade, score=score, scored_at=scored_at, due_at=due_at, fit_score=fit_score)
    row.queue_state = state or queue_state_for(contact.stage)
    session.flush()
    return contact


def set_engagement(
    row: Engagement,
    *,
    grade: str | None,
    score: float,
    scored_at: datetime | None,
    due_at: datetime | None = None,
    fit_score: int | None = None,
) -> None:
    row.grade, row.fit_score = grade, fit_score
    row.score, row.scored_at = score, scored_at
    row.rank_key = rank_key(score, scored_at, RATE)
    row.due_at = due_at


def graded_profile(session: Session, workspace: Workspace) -> int:
    """Apply :data:`PROFILE` and grade every contact; the profile's id."""
    icp = apply_definition(session, workspace.id, parse_definition(PROFILE)).icp
    grade_all(session, workspace.id, icp)
    return icp.id
