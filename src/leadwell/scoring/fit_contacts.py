"""Best fits copied into the engagement rows of a few contacts, through the ORM session, and queue
states after merges.

Re-grading a contact (an edit, an organization change, an import's chunk) calls
:func:`sync_contacts`: one query compares the contacts' copied fit with their best fit now, and
only when one changed does anything more happen, as :func:`leadwell.scoring.fit_sync.sync_all`
does for everyone: a nurture contact whose grade improved comes back to the queue with the fit
change's words, and the stage rules run for the contacts whose fit changed. Working through the
session keeps a contact loaded there (the one just edited) in step with its row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement
from leadwell.db.types import utcnow
from leadwell.scoring.fit_sync import Synced, best_fits
from leadwell.scoring.rows import ensure_engagements, queue_state_for
from leadwell.scoring.stage_rules import apply_stage_rules
from leadwell.scoring.stage_sql import CONTACTS, ENGAGEMENTS, EVENTS
from leadwell.scoring.stages import move_stage
from leadwell.scoring.store import current_settings


def sync_contacts(
    session: Session, workspace_id: int, ids: Sequence[int], now: datetime | None = None
) -> Synced:
    """The same for a few contacts just re-graded, through the session (a contact re-graded by an
    edit is usually loaded in it): one query when no copied fit changed."""
    session.flush()
    moment = now or utcnow()
    rows = _fits_now(session, workspace_id, sorted(set(ids)))
    ensure_engagements(session, workspace_id, {r.id: r.stage for r in rows if r.held is None})
    changed = [r for r in rows if (r.old_grade, r.old_score, r.old_icp) != (r.grade, r.score, r.icp_id)]
    if not changed:
        return Synced(0, 0, 0)
    query = select(Engagement).where(Engagement.contact_id.in_([r.id for r in changed]))
    held = {row.contact_id: row for row in session.scalars(query)}
    for r in changed:
        held[r.id].grade, held[r.id].fit_score, held[r.id].icp_id = r.grade, r.score, r.icp_id
    reasons = {
        r.id: _fit_reason(session, workspace_id, r.id, r.grade, r.old_grade) for r in changed if _improved(r)
    }
    for contact_id, why in reasons.items():
        contact = session.get(Contact, contact_id)
        assert contact is not None
        move_stage(session, contact, "lead", f"resurfaced: {why}", at=moment)
    settings = current_settings(session, workspace_id)[1]
    moved = apply_stage_rules(session, workspace_id, settings, [r.id for r in changed], moment)
    for contact_id, why in reasons.items():
        row = held[contact_id]
        row.resurfaced_why, row.resurfaced_at, row.due_at = why, moment, None
    session.flush()
    return Synced(len(changed), len(reasons), len(moved))


def _fits_now(session: Session, workspace_id: int, ids: list[int]) -> Sequence[Any]:
    """Per live contact of ``ids``: its stage, engagement row (``held``: None when missing) with the
    fit copied there, and its best fit now."""
    best = best_fits(workspace_id, ids)
    engagement = ENGAGEMENTS.c
    return session.execute(
        select(
            CONTACTS.c.id, CONTACTS.c.stage, engagement.contact_id.label("held"), engagement.queue_state,
            engagement.grade.label("old_grade"), engagement.fit_score.label("old_score"),
            engagement.icp_id.label("old_icp"), best.c.grade, best.c.score, best.c.icp_id,
        )
        .select_from(
            CONTACTS.outerjoin(ENGAGEMENTS, engagement.contact_id == CONTACTS.c.id).outerjoin(
                best, and_(best.c.contact_id == CONTACTS.c.id, best.c.place == 1)
            )
        )
        .where(CONTACTS.c.workspace_id == workspace_id, CONTACTS.c.id.in_(ids),
               CONTACTS.c.merged_into_id.is_(None))
    ).all()  # fmt: skip


def _improved(r: Row[Any]) -> bool:
    """A parked nurture contact whose grade got better (A < B < … < F sorts the better first)."""
    return bool(
        r.queue_state == "parked"
        and r.stage == "nurture"
        and r.old_grade
        and r.grade
        and r.grade < r.old_grade
    )


def _fit_reason(session: Session, workspace_id: int, contact_id: int, grade: str, old_grade: str) -> str:
    """The words of the ``fit_changed`` event that gave the contact ``grade``."""
    why = session.scalar(
        select(EVENTS.c.properties["why"].as_string())
        .where(
            EVENTS.c.workspace_id == workspace_id,
            EVENTS.c.contact_id == contact_id,
            EVENTS.c.type == "fit_changed",
            EVENTS.c.properties["to_grade"].as_string() == grade,
        )
        .order_by(EVENTS.c.id.desc())
        .limit(1)
    )
    return why or f"fit improved: now grade {grade} (was {old_grade})"


def follow_merge(session: Session, workspace_id: int, contact_ids: Iterable[int]) -> None:
    """Queue states after a merge or its undo: a contact merged away is closed; every other one is
    where its stage puts it (an undo reopens what the merge closed)."""
    session.flush()
    contacts = {
        c.id: c
        for c in session.scalars(
            select(Contact).where(
                Contact.workspace_id == workspace_id, Contact.id.in_(sorted(set(contact_ids)))
            )
        )
    }
    rows = ensure_engagements(session, workspace_id, {n: c.stage for n, c in contacts.items()})
    for contact_id, contact in contacts.items():
        row = rows[contact_id]
        row.queue_state = "closed" if contact.merged_into_id is not None else queue_state_for(contact.stage)
        if row.queue_state == "open":
            row.parked_score = None
    session.flush()
