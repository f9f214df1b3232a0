"""Re-qualification: what happens to contacts once their scores move.

The scoring engine calls :func:`after_scores` with the contacts an event batch scored, and
:func:`after_recompute` after rebuilding every score from the log. Two things follow:

- **Automatic stage rules** (:mod:`leadwell.scoring.stage_rules`) move contacts forward when
  their fit and engagement say so ("Good fit and engaged: grade A, engagement 52 ≥ 40").
- **Resurfacing.** A contact in nurture is parked: out of the call queue until its revisit date.
  When its engagement rises by at least ``queue.resurface_points`` above the score it had when
  parked (that score decayed to now, like any engagement), it comes back: its stage moves from
  nurture to lead (so the funnel counts it again), it is back in the queue at once, and the queue
  says why in plain words ("new engagement: Read 80% of a paper (+25), Replied to an email (+40)").
  Stage rules then apply as to any lead, so an engaged good fit goes on to MQL in the same step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement, StageChange
from leadwell.scoring.decay import current, days
from leadwell.scoring.engine import ScoreChange
from leadwell.scoring.settings import Settings
from leadwell.scoring.stage_rules import apply_stage_rules, figure
from leadwell.scoring.stage_sql import apply_rules_sql
from leadwell.scoring.stages import move_stage

RESURFACED_STAGE = "lead"


def after_scores(
    session: Session, workspace_id: int, settings: Settings, changes: Sequence[ScoreChange], now: datetime
) -> None:
    """Resurface parked contacts whose engagement rose enough, then apply the stage rules to every
    contact these score changes touched."""
    if not changes:
        return
    resurfaced = _resurface(session, workspace_id, settings, changes, now)
    apply_stage_rules(session, workspace_id, settings, [change.contact_id for change in changes], now)
    # Stage moves clear a resurfaced contact's reason; it stays, as the queue's "why now".
    for contact_id, why in resurfaced.items():
        engagement = session.get(Engagement, contact_id)
        if engagement is not None:
            engagement.resurfaced_why, engagement.resurfaced_at, engagement.due_at = why, now, None
    session.flush()


def after_recompute(session: Session, workspace_id: int, settings: Settings, now: datetime) -> None:
    """Apply the stage rules to the whole workspace in SQL, after every score was rebuilt."""
    session.flush()
    if apply_rules_sql(session.connection(), workspace_id, settings, now):
        session.expire_all()  # contacts' stages and queue states moved under the ORM's feet


def engagement_words(settings: Settings, awarded: Sequence[tuple[str, float, int]]) -> str:
    """What a contact did, from the points a batch awarded: "Read 80% of a paper (+25), Replied
    to an email (+40)" (points of one rule added up; points taken away left out)."""
    labels = {rule.key: rule.label for rule in settings.rules}
    totals: dict[str, float] = {}
    for key, points, _event_id in awarded:
        if points > 0:
            totals[key] = totals.get(key, 0.0) + points
    return ", ".join(f"{labels.get(key, key)} (+{figure(round(total, 2))})" for key, total in totals.items())


def baseline(parked_score: float | None, parked_at: datetime | None, now: datetime, rate: float) -> float:
    """The score a parked contact had when parked, decayed to ``now`` (0 when it had none)."""
    if parked_score is None:
        return 0.0
    if parked_at is None or now <= parked_at:
        return parked_score
    return parked_score * math.exp(-rate * (days(now) - days(parked_at)))


def _resurface(
    session: Session, workspace_id: int, settings: Settings, changes: Sequence[ScoreChange], now: datetime
) -> dict[int, str]:
    """Move the parked contacts among ``changes`` whose engagement rose enough back to lead;
    returns their reasons by contact id."""
    by_contact = {change.contact_id: change for change in changes}
    # The engine holds these rows already: looking them up costs no query.
    held = [session.get(Engagement, contact_id) for contact_id in sorted(by_contact)]
    candidates = [row.contact_id for row in held if row is not None and row.queue_state == "parked"]
    if not candidates:
        return {}
    nurtured = session.scalars(
        select(Contact).where(
            Contact.id.in_(candidates),
            Contact.workspace_id == workspace_id,
            Contact.stage == "nurture",
            Contact.merged_into_id.is_(None),
        )
    ).all()
    contacts = {contact.id: contact for contact in nurtured}
    parked = [row for row in held if row is not None and row.contact_id in contacts]
    if not parked:
        return {}
    since = _parked_since(session, workspace_id, [row.contact_id for row in parked])
    rate = settings.decay_rate
    reasons: dict[int, str] = {}
    for row in parked:
        rise = current(row.score, row.scored_at, now, rate) - baseline(
            row.parked_score, since.get(row.contact_id), now, rate
        )
        words = engagement_words(settings, by_contact[row.contact_id].awarded)
        if rise < settings.queue.resurface_points or not words:
            continue
        why = f"new engagement: {words}"
        move_stage(session, contacts[row.contact_id], RESURFACED_STAGE, f"resurfaced: {why}", at=now)
        reasons[row.contact_id] = why
    return reasons


def _parked_since(session: Session, workspace_id: int, contact_ids: list[int]) -> dict[int, datetime]:
    """When each of these contacts last moved to nurture."""
    rows = session.execute(
        select(StageChange.contact_id, func.max(StageChange.changed_at))
        .where(
            StageChange.workspace_id == workspace_id,
            StageChange.contact_id.in_(contact_ids),
            StageChange.to_stage == "nurture",
        )
        .group_by(StageChange.contact_id)
    )
    return {contact_id: moment for contact_id, moment in rows}
