"""Scoring events as they arrive: the incremental path.

Each stored event is matched against the rules in force; capped rules grant what their scope has
left (:mod:`leadwell.scoring.points`); the contact's ``(S, t0)`` moves by
:func:`leadwell.scoring.decay.add_points`. Events are applied in id order, the order they were
stored in, which is the order :mod:`leadwell.scoring.recompute` grants caps in too, so both paths
give the same scores.

On PostgreSQL the contacts' engagement rows are locked (``SELECT … FOR UPDATE``, in id order)
before their caps are read: two transactions scoring one contact take turns, and a cap is never
granted twice. SQLite has one writer at a time anyway.

This runs inside every event ingest, so it reads and writes with Core statements (a batch of a
thousand events is a handful of statements), then loads the rescored contacts' engagement objects
afresh in one query for re-qualification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, case, func, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from leadwell.db.models import Base, Engagement, Event
from leadwell.db.types import utcnow
from leadwell.scoring import decay
from leadwell.scoring.decay import ZERO_RANK
from leadwell.scoring.points import CompiledRule, grant, rules_by_type, scope_of
from leadwell.scoring.rows import CLOSED_STAGES, PARKED_STAGES
from leadwell.scoring.settings import Settings
from leadwell.scoring.store import current_settings

CONTACTS: Table = Base.metadata.tables["contacts"]
ENGAGEMENTS: Table = Base.metadata.tables["engagements"]
CAPS: Table = Base.metadata.tables["engagement_caps"]
# |S| below this is zero: what is left when positive and negative points cancel out is rounding.
ZERO_SCORE = 1e-9
# The first key of PostgreSQL's advisory locks on scoring ("LW"), the workspace id the second.
LOCK_CLASS = 0x4C57

CapKey = tuple[int, str, str]  # (contact id, rule key, scope)


@dataclass(frozen=True)
class EventRow:
    """A stored event as scoring needs it."""

    id: int
    contact_id: int | None
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class ScoreChange:
    """One contact's score before and after a batch (both as they stand at ``at``) and the points
    each rule granted, as ``(rule key, points, event id)``."""

    contact_id: int
    before: float
    after: float
    at: datetime
    awarded: tuple[tuple[str, float, int], ...]


@dataclass
class _Score:
    """A contact's stored score while a batch is applied."""

    score: float
    scored_at: datetime | None
    earned: list[tuple[str, float, int]] = field(default_factory=list)


def scoring_lock(connection: Connection, workspace_id: int, exclusive: bool = False) -> None:
    """On PostgreSQL, the workspace's scoring lock until the transaction ends: shared by event
    batches being scored, exclusive for a recompute. Batches stored while a recompute runs wait
    for it and then score on top of its result. (SQLite has one writer at a time anyway.)"""
    if connection.dialect.name != "postgresql":
        return
    take = func.pg_advisory_xact_lock if exclusive else func.pg_advisory_xact_lock_shared
    connection.execute(select(take(LOCK_CLASS, workspace_id)))


def _matches(settings: Settings, events: Sequence[EventRow]) -> list[tuple[EventRow, CompiledRule]]:
    """(event, rule) for every rule that scores an event, in event-id order. Events of a type no
    rule scores cost one dict lookup."""
    index = rules_by_type(settings)
    found: list[tuple[EventRow, CompiledRule]] = []
    for event in sorted(events, key=lambda row: row.id):
        candidates = index.get(event.type)
        if candidates and event.contact_id is not None:
            found.extend((event, compiled) for compiled in candidates if compiled.holds(event.properties))
    return found


def _lock(session: Session, workspace_id: int, contact_ids: list[int]) -> dict[int, _Score]:
    """The contacts' stored scores, their rows locked in id order (created first when missing)."""
    query = (
        select(ENGAGEMENTS.c.contact_id, ENGAGEMENTS.c.score, ENGAGEMENTS.c.scored_at)
        .where(ENGAGEMENTS.c.contact_id.in_(contact_ids))
        .order_by(ENGAGEMENTS.c.contact_id)
        .with_for_update()
    )
    found = {row.contact_id: _Score(row.score, row.scored_at) for row in session.execute(query)}
    missing = [contact_id for contact_id in contact_ids if contact_id not in found]
    if missing:
        _create_rows(session, workspace_id, missing)
        created = session.execute(query.where(ENGAGEMENTS.c.contact_id.in_(missing)))
        found.update({row.contact_id: _Score(row.score, row.scored_at) for row in created})
    return found


def _create_rows(session: Session, workspace_id: int, contact_ids: list[int]) -> None:
    """Engagement rows (zero score, the queue state the stage implies) for contacts without one, as
    :func:`leadwell.scoring.rows.ensure_engagements` makes them, in one statement; a row another
    transaction creates meanwhile is kept (``ON CONFLICT DO NOTHING``)."""
    stage = CONTACTS.c.stage
    state = case(
        (stage.in_(sorted(CLOSED_STAGES)), "closed"),
        (stage.in_(sorted(PARKED_STAGES)), "parked"),
        else_="open",
    )
    source = select(
        CONTACTS.c.id,
        CONTACTS.c.workspace_id,
        literal(0.0),
        literal(ZERO_RANK),
        literal(0),
        state,
        literal(utcnow()),
    ).where(CONTACTS.c.id.in_(contact_ids), CONTACTS.c.workspace_id == workspace_id)
    columns = ["contact_id", "workspace_id", "score", "rank_key", "version", "queue_state", "updated_at"]
    connection = session.connection()
    statement = (pg_insert if connection.dialect.name == "postgresql" else sqlite_insert)(ENGAGEMENTS)
    connection.execute(statement.from_select(columns, source).on_conflict_do_nothing())


def _load_caps(session: Session, keys: set[CapKey]) -> dict[CapKey, float]:
    if not keys:
        return {}
    # The plain IN on contact_id lets SQLite use the primary key; it cannot for a row-value IN.
    contact_ids = sorted({contact_id for contact_id, _, _ in keys})
    found = session.execute(
        select(CAPS.c.contact_id, CAPS.c.rule, CAPS.c.scope, CAPS.c.awarded).where(
            CAPS.c.contact_id.in_(contact_ids),
            tuple_(CAPS.c.contact_id, CAPS.c.rule, CAPS.c.scope).in_(sorted(keys)),
        )
    )
    return {(contact_id, rule, scope): awarded for contact_id, rule, scope, awarded in found}


def _save_caps(session: Session, caps: dict[CapKey, float]) -> None:
    if not caps:
        return
    rows = [
        {"contact_id": contact_id, "rule": rule, "scope": scope, "awarded": awarded}
        for (contact_id, rule, scope), awarded in sorted(caps.items())
    ]
    connection = session.connection()
    statement = (pg_insert if connection.dialect.name == "postgresql" else sqlite_insert)(CAPS)
    statement = statement.on_conflict_do_update(
        index_elements=["contact_id", "rule", "scope"], set_={"awarded": statement.excluded.awarded}
    )
    connection.execute(statement, rows)


def _save_scores(
    session: Session, version: int, rate: float, scores: dict[int, _Score], now: datetime
) -> list[Engagement]:
    """The rescored contacts' rows (Core, one executemany), then their engagement objects loaded
    afresh into the session (returned: the session only keeps weak references)."""
    rows = [
        {
            "b_contact_id": contact_id,
            "score": state.score,
            "scored_at": state.scored_at,
            "rank_key": decay.rank_key(state.score, state.scored_at, rate),
        }
        for contact_id, state in sorted(scores.items())
    ]
    statement = (
        update(ENGAGEMENTS)
        .where(ENGAGEMENTS.c.contact_id == bindparam("b_contact_id"))
        .values(
            score=bindparam("score"),
            scored_at=bindparam("scored_at"),
            rank_key=bindparam("rank_key"),
            version=version,
            updated_at=now,
        )
    )
    session.connection().execute(statement, rows)
    # Objects the session holds for these rows are now stale; one query refreshes them and loads
    # the rest, which re-qualification then reads from the identity map instead of one by one.
    fresh = select(Engagement).where(Engagement.contact_id.in_(sorted(scores)))
    return list(session.scalars(fresh.execution_options(populate_existing=True)))


def apply_events(
    session: Session, workspace_id: int, events: Sequence[EventRow], now: datetime
) -> list[ScoreChange]:
    """Score freshly stored events (ids known) with the settings in force; one change per contact
    whose score moved, in contact id order. Then re-qualification looks at those contacts."""
    version, settings = current_settings(session, workspace_id)
    matches = _matches(settings, events)
    if not matches:
        return []
    session.flush()  # the session's own pending changes first: rows are read and written below
    scoring_lock(session.connection(), workspace_id)
    scores = _lock(session, workspace_id, sorted({event.contact_id or 0 for event, _ in matches}))
    scopes = [
        scope_of(compiled, event.occurred_at, event.properties) if compiled.rule.cap else None
        for event, compiled in matches
    ]
    keys = {
        (event.contact_id, compiled.rule.key, scope)
        for (event, compiled), scope in zip(matches, scopes, strict=True)
        if scope is not None
    }
    caps = _load_caps(session, keys)  # type: ignore[arg-type]
    changes = _apply(settings, matches, scopes, scores, caps, now)
    rescored = {change.contact_id: scores[change.contact_id] for change in changes}
    if not rescored:
        return changes
    held = _save_scores(session, version, settings.decay_rate, rescored, now)
    _save_caps(session, caps)
    _after_scores(session, workspace_id, settings, changes, now)
    del held  # kept until re-qualification has read them from the identity map
    return changes


def _after_scores(
    session: Session, workspace_id: int, settings: Settings, changes: list[ScoreChange], now: datetime
) -> None:
    # Imported here: re-qualification imports this module (for ScoreChange) at its top.
    from leadwell.scoring.requalify import after_scores

    after_scores(session, workspace_id, settings, changes, now)


def _apply(
    settings: Settings,
    matches: list[tuple[EventRow, CompiledRule]],
    scopes: list[str | None],
    scores: dict[int, _Score],
    caps: dict[CapKey, float],
    now: datetime,
) -> list[ScoreChange]:
    """Grant each match its points (what its cap leaves) and add them to the contact's score."""
    rate = settings.decay_rate
    before = {contact_id: decay.current(s.score, s.scored_at, now, rate) for contact_id, s in scores.items()}
    for (event, compiled), scope in zip(matches, scopes, strict=True):
        contact_id, rule = event.contact_id, compiled.rule
        assert contact_id is not None
        points = rule.points
        if rule.cap is not None and scope is not None:
            key = (contact_id, rule.key, scope)
            points, caps[key] = grant(caps.get(key, 0.0), rule.points, rule.cap)
        if points == 0:
            continue
        state = scores[contact_id]
        score, state.scored_at = decay.add_points(
            state.score, state.scored_at, points, event.occurred_at, rate
        )
        state.score = 0.0 if abs(score) < ZERO_SCORE else score
        state.earned.append((rule.key, points, event.id))
    return [
        ScoreChange(
            contact_id,
            before[contact_id],
            decay.current(state.score, state.scored_at, now, rate),
            now,
            tuple(state.earned),
        )
        for contact_id, state in sorted(scores.items())
        if state.earned
    ]


def event_rows(events: Sequence[Event]) -> list[EventRow]:
    """ORM events as :class:`EventRow` (they must have been flushed: ids known)."""
    return [EventRow(e.id, e.contact_id, e.type, e.occurred_at, e.properties) for e in events]


def score_new_events(session: Session, workspace_id: int, rows: Sequence[Event]) -> list[ScoreChange]:
    """Score events just added with the ORM (stage moves, call outcomes, deals), flushing first."""
    if any(row.id is None for row in rows):
        session.flush()
    return apply_events(session, workspace_id, event_rows(rows), utcnow())
