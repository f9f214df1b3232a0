"""Automatic stage moves: which rule, if any, is due for a contact, and making the moves.

A workspace's qualification settings list stage rules in order ("Good fit and engaged: from
subscriber or lead to MQL, grade A or B, engagement ≥ 40"). For a contact, the first rule that
matches its stage, best fit grade and current engagement is due. Rules only move contacts forward
along the funnel (subscriber → lead → MQL → SQL → opportunity → customer): a rule moving backwards,
or into nurture or disqualified, never fires; contacts in opportunity, customer or disqualified are
never moved by a rule; nurture contacts move only by rules that name nurture in ``from``.

:func:`due_moves` is the pure decision; :func:`apply_stage_rules` makes the moves of a few contacts
through :func:`leadwell.scoring.stages.move_stage`. :mod:`leadwell.scoring.stage_sql` makes the same
moves for a whole workspace in SQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement, StageChange
from leadwell.scoring.decay import current
from leadwell.scoring.rows import ensure_engagements
from leadwell.scoring.settings import Settings, StageRule
from leadwell.scoring.stages import FUNNEL, move_stage

FUNNEL_ORDER = {stage: position for position, stage in enumerate(FUNNEL)}
# Stages no rule moves a contact out of: worked on the pipeline, bought, or qualified out.
FINAL_STAGES = frozenset({"opportunity", "customer", "disqualified"})
MAX_DECIMALS = 2


def forward(from_stage: str, to_stage: str) -> bool:
    """Whether an automatic rule may move a contact from ``from_stage`` to ``to_stage``: forward
    along the funnel, or out of nurture onto the funnel; never out of the final stages."""
    if from_stage in FINAL_STAGES or to_stage not in FUNNEL_ORDER:
        return False
    if from_stage == "nurture":
        return True
    return from_stage in FUNNEL_ORDER and FUNNEL_ORDER[to_stage] > FUNNEL_ORDER[from_stage]


def movable_from(rule: StageRule) -> frozenset[str]:
    """The stages of the rule's ``from`` it may actually move contacts out of."""
    return frozenset(stage for stage in rule.from_stages if forward(stage, rule.to))


def matches(rule: StageRule, stage: str, grade: str | None, score_now: float) -> bool:
    """Whether ``rule`` applies to a contact in ``stage`` with this best fit grade and engagement."""
    if stage not in movable_from(rule):
        return False
    if rule.grades is not None and grade not in rule.grades:
        return False
    if rule.min_engagement is not None and score_now < rule.min_engagement:
        return False
    return rule.max_engagement is None or score_now <= rule.max_engagement


def due_moves(settings: Settings, stage: str, grade: str | None, score_now: float) -> StageRule | None:
    """The first stage rule, in the settings' order, that matches this contact; None if none does."""
    return next((rule for rule in settings.stage_rules if matches(rule, stage, grade, score_now)), None)


def figure(value: float) -> str:
    """A settings number as written: 40 rather than 40.0, 37.5 as it is."""
    return str(int(value)) if float(value).is_integer() else f"{value:.{decimals(value)}f}"


def decimals(value: float) -> int:
    """How many decimals (up to two) a bound is written with."""
    for places in range(MAX_DECIMALS + 1):
        if math.isclose(round(value, places), value, rel_tol=0, abs_tol=1e-9):
            return places
    return MAX_DECIMALS


def score_places(rule: StageRule) -> int:
    """The decimals an engagement figure is shown with next to the rule's bounds."""
    bounds = [b for b in (rule.min_engagement, rule.max_engagement) if b is not None]
    return max((decimals(bound) for bound in bounds), default=0)


def shown_score(score_now: float, places: int) -> str:
    """Engagement rounded down to ``places`` decimals: a figure shown beside "≥ 40" never reads
    as 40 when the score is 39.7."""
    floored = math.floor(score_now * 10**places) / 10**places
    return str(int(floored)) if places == 0 else f"{floored:.{places}f}"


def move_reason(rule: StageRule, grade: str | None, score_now: float) -> str:
    """The history's "why" of an automatic move, with the figures that made it:
    "Good fit and engaged: grade A, engagement 52 ≥ 40"."""
    parts = []
    if rule.grades is not None:
        parts.append(f"grade {grade}")
    bounds = []
    if rule.min_engagement is not None:
        bounds.append(f"≥ {figure(rule.min_engagement)}")
    if rule.max_engagement is not None:
        bounds.append(f"≤ {figure(rule.max_engagement)}")
    if bounds:
        parts.append(f"engagement {shown_score(score_now, score_places(rule))} {' and '.join(bounds)}")
    return f"{rule.label}: {', '.join(parts)}"


def apply_stage_rules(
    session: Session, workspace_id: int, settings: Settings, contact_ids: Iterable[int], now: datetime
) -> list[StageChange]:
    """Make the due moves of these contacts, each until no rule matches any more (a contact moved
    to MQL may be due for SQL at once); returns the moves made, in order.

    One query for the contacts' stages; engagement rows the session holds already (the scoring
    engine's) are not read again, and a contact is loaded only when a rule moves it."""
    ids = sorted(set(contact_ids))
    if not settings.stage_rules or not ids:
        return []
    live = select(Contact.id, Contact.stage).where(
        Contact.workspace_id == workspace_id, Contact.id.in_(ids), Contact.merged_into_id.is_(None)
    )
    stages = {contact_id: stage for contact_id, stage in session.execute(live)}
    rows = _engagements(session, workspace_id, stages)
    made: list[StageChange] = []
    for contact_id in sorted(stages):
        made += _move_along(session, settings, contact_id, stages[contact_id], rows[contact_id], now)
    return made


def _engagements(session: Session, workspace_id: int, stages: dict[int, str]) -> dict[int, Engagement]:
    held = {n: session.get(Engagement, n) for n in stages}
    found = {n: row for n, row in held.items() if row is not None}
    missing = {n: stage for n, stage in stages.items() if n not in found}
    return found | ensure_engagements(session, workspace_id, missing)


def _move_along(
    session: Session, settings: Settings, contact_id: int, stage: str, engagement: Engagement, now: datetime
) -> list[StageChange]:
    score_now = current(engagement.score, engagement.scored_at, now, settings.decay_rate)
    contact: Contact | None = None
    made = []
    # Forward-only moves end within the funnel's length.
    for _ in range(len(FUNNEL) + 1):
        rule = due_moves(settings, stage, engagement.grade, score_now)
        if rule is None:
            break
        contact = contact or session.get(Contact, contact_id)
        assert contact is not None
        why = move_reason(rule, engagement.grade, score_now)
        change = move_stage(session, contact, rule.to, why, rule=rule.key, at=now)
        if change is not None:
            made.append(change)
        stage = rule.to
    return made
