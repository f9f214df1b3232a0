"""The naive recompute, the baseline of ``score_recompute``: every event of the log read in (contact,
id) order and replayed through the pure Python scoring path one contact at a time, the scores and
cap totals then written with executemany.

It is also the reference the set-based recompute is checked against: both must give every contact
the same rank key (the same current score at any moment).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from leadwell.db.models import Base
from leadwell.db.session import Database
from leadwell.scoring.decay import add_points, rank_key
from leadwell.scoring.engine import ZERO_SCORE
from leadwell.scoring.points import grant, rules_by_type, scope_of
from leadwell.scoring.settings import Settings

EVENTS: Table = Base.metadata.tables["events"]
ENGAGEMENTS: Table = Base.metadata.tables["engagements"]
CAPS: Table = Base.metadata.tables["engagement_caps"]
CONTACTS: Table = Base.metadata.tables["contacts"]
FETCH = 10_000
WRITE_CHUNK = 10_000
# Rank keys are ln S + λ·t0; two sums of the same points in another order differ in the last bits.
RANK_TOLERANCE = 1e-6


@dataclass
class Contact:
    """One contact's running state while its events are replayed."""

    contact_id: int
    score: float = 0.0
    scored_at: datetime | None = None
    awarded: dict[tuple[str, str], float] | None = None


@dataclass(frozen=True)
class Replayed:
    """What the naive program did: events read, contacts scored, seconds taken (writes included)."""

    events: int
    contacts: int
    seconds: float


def _score(state: Contact, settings: Settings, rate: float, event: tuple[str, datetime, Any]) -> None:
    """Add one event's points (after caps) to the contact's running score."""
    event_type, at, properties = event
    for compiled in rules_by_type(settings).get(event_type, ()):
        if not compiled.holds(properties):
            continue
        points, cap = compiled.rule.points, compiled.rule.cap
        if cap is not None:
            if state.awarded is None:
                state.awarded = {}
            key = (compiled.rule.key, scope_of(compiled, at, properties))
            points, state.awarded[key] = grant(state.awarded.get(key, 0.0), points, cap)
        if points:
            score, state.scored_at = add_points(state.score, state.scored_at, points, at, rate)
            state.score = 0.0 if abs(score) < ZERO_SCORE else score  # as the engine rounds


def _contacts(rows: Iterable[Any], settings: Settings, counter: list[int]) -> Iterator[Contact]:
    """Replay rows ordered by (contact, id); yield each contact's final state."""
    rate = settings.decay_rate
    state: Contact | None = None
    for contact_id, event_type, occurred_at, properties in rows:
        counter[0] += 1
        if state is None or contact_id != state.contact_id:
            if state is not None:
                yield state
            state = Contact(contact_id)
        _score(state, settings, rate, (event_type, occurred_at, properties))
    if state is not None:
        yield state


def _read(connection: Connection, workspace_id: int) -> Iterator[Any]:
    query = (
        select(EVENTS.c.contact_id, EVENTS.c.type, EVENTS.c.occurred_at, EVENTS.c.properties)
        .where(EVENTS.c.workspace_id == workspace_id, EVENTS.c.contact_id.is_not(None))
        .order_by(EVENTS.c.contact_id, EVENTS.c.id)
    )
    result = connection.execution_options(stream_results=True, yield_per=FETCH).execute(query)
    yield from result


def _write(connection: Connection, workspace_id: int, states: list[Contact], settings: Settings) -> None:
    scores = [
        {
            "b_contact_id": state.contact_id,
            "score": state.score,
            "scored_at": state.scored_at,
            "rank_key": rank_key(state.score, state.scored_at, settings.decay_rate),
        }
        for state in states
    ]
    statement = (
        update(ENGAGEMENTS)
        .where(ENGAGEMENTS.c.contact_id == bindparam("b_contact_id"))
        .values(score=bindparam("score"), scored_at=bindparam("scored_at"), rank_key=bindparam("rank_key"))
    )
    for start in range(0, len(scores), WRITE_CHUNK):
        connection.execute(statement, scores[start : start + WRITE_CHUNK])
    workspace_contacts = select(CONTACTS.c.id).where(CONTACTS.c.workspace_id == workspace_id)
    connection.execute(delete(CAPS).where(CAPS.c.contact_id.in_(workspace_contacts)))
    caps = [
        {"contact_id": state.contact_id, "rule": rule, "scope": scope, "awarded": awarded}
        for state in states
        for (rule, scope), awarded in (state.awarded or {}).items()
    ]
    for start in range(0, len(caps), WRITE_CHUNK):
        connection.execute(insert(CAPS), caps[start : start + WRITE_CHUNK])


def replay(db: Database, workspace_id: int, settings: Settings) -> Replayed:
    """Rescore the workspace the naive way; timed from the first read to the commit."""
    counter = [0]
    started = time.perf_counter()
    with db.engine.connect() as reader:
        states = list(_contacts(_read(reader, workspace_id), settings, counter))
    with db.engine.begin() as connection:
        _write(connection, workspace_id, states, settings)
    return Replayed(counter[0], len(states), time.perf_counter() - started)


def rank_keys(db: Database, workspace_id: int) -> dict[int, float]:
    """Every engagement row's rank key in the workspace."""
    query = select(ENGAGEMENTS.c.contact_id, ENGAGEMENTS.c.rank_key).where(
        ENGAGEMENTS.c.workspace_id == workspace_id
    )
    with db.engine.connect() as connection:
        return {contact_id: key for contact_id, key in connection.execute(query)}


def disagreements(expected: dict[int, float], found: dict[int, float]) -> list[tuple[int, float, float]]:
    """Contacts whose rank keys differ by more than rounding: (contact id, expected, found)."""
    return [
        (contact_id, key, found.get(contact_id, math.nan))
        for contact_id, key in expected.items()
        if not abs(key - found.get(contact_id, math.nan)) <= RANK_TOLERANCE
    ]
